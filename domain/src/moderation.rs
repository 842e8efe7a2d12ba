//! Moderation of the names citizens read: a branch's name and a service's names. The rules in
//! `names` refuse the known forbidden names at once; every name they let through — at creation
//! and at each rename — is a new *revision* that waits for an operator, who approves it or
//! removes it with a reason. Names serve while they wait (post-moderation: a small hotel need not
//! wait for the service's staff to open), and a removal stops the QR at once. A decision names
//! the revision the operator saw, so a rename made meanwhile is never approved unseen.
//!
//! Branch and Service keep one [`NameReview`] each; the decision rules live here once.

use serde::{Deserialize, Serialize};

use crate::text::TextError;
use crate::{RuleKind, RuleViolation};

/// Where the current revision of a name stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModerationState {
    /// New or changed, not yet seen by an operator; it serves meanwhile.
    #[default]
    Pending,
    Approved,
    /// Removed by an operator: final, the QR no longer works.
    Removed,
}

impl ModerationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Removed => "removed",
        }
    }
}

/// The moderation of one aggregate's name: which revision is current and where it stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameReview {
    revision: u32,
    state: ModerationState,
}

impl NameReview {
    /// The revision a creation or a rename makes next.
    pub fn next_revision(&self) -> u32 {
        self.revision + 1
    }
    pub fn revision(&self) -> u32 {
        self.revision
    }
    pub fn state(&self) -> ModerationState {
        self.state
    }
    pub fn is_removed(&self) -> bool {
        self.state == ModerationState::Removed
    }

    /// Checks an operator's approval of `revision`.
    pub fn check_approval(&self, revision: u32) -> Result<(), ModerationError> {
        self.check_current(revision)?;
        if self.state == ModerationState::Approved {
            return Err(ModerationError::AlreadyApproved);
        }
        Ok(())
    }

    /// Checks an operator's removal of `revision`, and returns the reason as it is recorded.
    pub fn check_removal(&self, revision: u32, reason: &str) -> Result<String, ModerationError> {
        self.check_current(revision)?;
        crate::text::line(reason, MAX_REASON_CHARS).map_err(|e| match e {
            TextError::Empty => ModerationError::ReasonMissing,
            TextError::TooLong(_, max) => ModerationError::ReasonTooLong(max),
            TextError::Invisible(cp) => ModerationError::ReasonInvisible(cp),
        })
    }

    fn check_current(&self, revision: u32) -> Result<(), ModerationError> {
        if self.is_removed() {
            return Err(ModerationError::AlreadyRemoved);
        }
        if revision != self.revision {
            return Err(ModerationError::StaleRevision { current: self.revision });
        }
        Ok(())
    }

    /// A new revision was submitted (creation or rename): it waits for an operator.
    pub fn submitted(&mut self, revision: u32) {
        *self = Self { revision, state: ModerationState::Pending };
    }
    pub fn approved(&mut self) {
        self.state = ModerationState::Approved;
    }
    pub fn removed(&mut self) {
        self.state = ModerationState::Removed;
    }
}

/// How long a removal's reason may be: it is mailed to the partner.
pub const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModerationError {
    #[error("назву змінено після того, як ви її переглянули: перегляньте редакцію {current}")]
    StaleRevision { current: u32 },
    #[error("цю редакцію назви вже схвалено")]
    AlreadyApproved,
    #[error("назву вже видалено модерацією")]
    AlreadyRemoved,
    #[error("вкажіть причину видалення: партнер отримає її листом")]
    ReasonMissing,
    #[error("причина видалення задовга: можна до {0} символів")]
    ReasonTooLong(usize),
    #[error("причина містить невидимий або керівний символ {0}")]
    ReasonInvisible(String),
}

impl RuleViolation for ModerationError {
    fn kind(&self) -> RuleKind {
        match self {
            Self::StaleRevision { .. } | Self::AlreadyApproved | Self::AlreadyRemoved => RuleKind::Conflict,
            Self::ReasonMissing | Self::ReasonTooLong(_) | Self::ReasonInvisible(_) => RuleKind::Invalid,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::StaleRevision { .. } => "moderation-revision-stale",
            Self::AlreadyApproved => "moderation-already-approved",
            Self::AlreadyRemoved => "moderation-already-removed",
            Self::ReasonMissing => "moderation-reason-missing",
            Self::ReasonTooLong(_) => "moderation-reason-too-long",
            Self::ReasonInvisible(_) => "moderation-reason-invalid",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(revision: u32, state: ModerationState) -> NameReview {
        NameReview { revision, state }
    }

    #[test]
    fn an_operator_decides_on_the_revision_they_saw() {
        let pending = review(2, ModerationState::Pending);
        assert_eq!(pending.check_approval(2), Ok(()));
        assert_eq!(pending.check_approval(1), Err(ModerationError::StaleRevision { current: 2 }));
        assert_eq!(pending.check_removal(1, "бренд Дії"), Err(ModerationError::StaleRevision { current: 2 }));
        assert_eq!(pending.check_removal(2, "  вживає   бренд Дії "), Ok("вживає бренд Дії".into()));
    }

    #[test]
    fn an_approved_name_may_still_be_removed_but_not_approved_twice() {
        let approved = review(1, ModerationState::Approved);
        assert_eq!(approved.check_approval(1), Err(ModerationError::AlreadyApproved));
        assert!(approved.check_removal(1, "скарга громадянина").is_ok());
    }

    #[test]
    fn a_removal_is_final_and_needs_a_reason() {
        let removed = review(1, ModerationState::Removed);
        assert_eq!(removed.check_approval(1), Err(ModerationError::AlreadyRemoved));
        assert_eq!(removed.check_removal(1, "ще раз"), Err(ModerationError::AlreadyRemoved));
        let pending = review(1, ModerationState::Pending);
        assert_eq!(pending.check_removal(1, " \n "), Err(ModerationError::ReasonMissing));
        assert_eq!(pending.check_removal(1, &"я".repeat(501)), Err(ModerationError::ReasonTooLong(500)));
    }

    #[test]
    fn a_rename_is_a_new_revision_waiting_again() {
        let mut r = review(1, ModerationState::Approved);
        r.submitted(r.next_revision());
        assert_eq!((r.revision(), r.state()), (2, ModerationState::Pending));
    }
}
