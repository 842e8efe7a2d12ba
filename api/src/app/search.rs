//! The partner's search of the documents it received: the index answers, scoped to the
//! signed-in partner; its refusals (a query it cannot answer, a cursor not made for this
//! partner and query) become rule violations like any other. Every search that answers is a
//! read of personal data, so it is an entry in the audit trail first.

use diia_qr_projections::audit_trail::access::Access;
use diia_qr_projections::views::search::{self, SearchError, SearchPage, SearchQuery};
use serde_json::json;

use super::{Engine, EngineError, PartnerIdentity};

impl Engine {
    /// One page of the copies `who` received that match `query`. The partner comes from the
    /// session only: no query or cursor can reach another partner's documents.
    pub async fn search_received(&self, who: &PartnerIdentity, query: SearchQuery) -> Result<SearchPage, EngineError> {
        let page = search::search(&self.pool, &self.search_cursors, who.partner_id(), &query).await.map_err(|e| match e {
            SearchError::Query(problem) => EngineError::rule(&problem),
            SearchError::Cursor(problem) => EngineError::rule(&problem),
            SearchError::Database(e) => e.into(),
        })?;
        // What was asked, as facts without personal values; the values themselves committed.
        let mut facts = vec![("results", json!(page.documents.len()))];
        let given: Vec<&str> = [
            ("document_type", query.document_type.is_some()),
            ("branch", query.branch_id.is_some()),
            ("service", query.service_id.is_some()),
            ("from", query.received_from.is_some()),
            ("to", query.received_to.is_some()),
            ("cursor", query.cursor.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        facts.push(("filters", json!(given)));
        if let Some(t) = query.document_type {
            facts.push(("document_type", json!(t.code())));
        }
        let mut committed = Vec::new();
        if let Some(name) = &query.name {
            committed.push(("name", name.clone()));
        }
        if let Some(number) = &query.document_number {
            committed.push(("document_number", number.clone()));
        }
        if let Some(rnokpp) = &query.rnokpp {
            committed.push(("rnokpp", rnokpp.to_string()));
        }
        let access = Access {
            kind: "access.search",
            partner_id: Some(who.partner_id()),
            share_request_id: None,
            actor_role: "partner-head",
            actor_id: who.head.rnokpp.to_string(),
            facts,
            committed,
        };
        self.audit.record(&access).await?;
        Ok(page)
    }
}
