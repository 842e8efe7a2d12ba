//! `/`: what Diia.QR is and how an organisation joins, the seed's onboarding steps in order.

use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::lang::Lang;
use super::layout::{page, respond};

struct HomeTexts {
    title: &'static str,
    heading: &'static str,
    lead: &'static str,
    how_heading: &'static str,
    how: [&'static str; 4],
    join_heading: &'static str,
    join: [&'static str; 6],
    names_note: &'static str,
    enter: &'static str,
    operators: &'static str,
}

const UK: HomeTexts = HomeTexts {
    title: "Кабінет партнера",
    heading: "Дія.QR для організацій",
    lead: "Отримуйте засвідчені копії цифрових документів громадян на електронну пошту вашої організації: \
           без паперових копій і без зайвих персональних даних.",
    how_heading: "Як це працює",
    how: [
        "Ви розміщуєте QR-код послуги там, де приймаєте відвідувачів.",
        "Громадянин сканує його в застосунку Дія і бачить, хто і для чого запитує документи.",
        "Він проходить фотоверифікацію і підтверджує передачу кодом Дія.Підпису.",
        "На підтверджену пошту відділення надходять PDF-копії документів із кваліфікованою печаткою (файли .p7s).",
    ],
    join_heading: "Як стати партнером",
    join: [
        "Увійдіть з КЕП керівника організації або ФОП і заповніть профіль.",
        "Ознайомтеся з публічною офертою і прийміть її.",
        "Підпишіть заяву про приєднання КЕП керівника.",
        "Створіть відділення з повною назвою організації і підтвердіть його електронну пошту.",
        "Створіть послугу: назва — мета обробки даних (наприклад, «для поселення у готель»), перелік документів і правові підстави.",
        "Завантажте QR-код і плакат, роздрукуйте їх і розмістіть для відвідувачів.",
    ],
    names_note: "Назви «Дія», «Дія готель», «Впровадження Дії», «Ідентифікація» не є назвами відділень чи послуг: їх не приймають.",
    enter: "Увійти до кабінету з КЕП",
    operators: "Для операторів Дія.QR: робоче місце (модерація, партнери, стан системи)",
};

const EN: HomeTexts = HomeTexts {
    title: "Partner cabinet",
    heading: "Diia.QR for organisations",
    lead: "Receive certified copies of citizens' digital documents at your organisation's mailbox: \
           no paper copies, and no personal data you do not need.",
    how_heading: "How it works",
    how: [
        "You place your service's QR code where you meet visitors.",
        "A citizen scans it in the Diia app and sees who asks for which documents, and why.",
        "They pass photo verification and confirm with their Diia.Signature code.",
        "PDF copies of the documents, sealed with a qualified seal (.p7s files), arrive at the branch's confirmed mailbox.",
    ],
    join_heading: "How to become a partner",
    join: [
        "Sign in with the qualified signature (KEP) of your organisation's head, or your own as a sole proprietor, and fill in the profile.",
        "Read and accept the public offer.",
        "Sign the accession application with the head's KEP.",
        "Create a branch with the organisation's full name and confirm its mailbox.",
        "Create a service: its name states the purpose (for example, \u{201c}for hotel check-in\u{201d}), the documents and the legal basis.",
        "Download the QR code and the poster, print them and place them for visitors.",
    ],
    names_note: "\u{201c}Diia\u{201d}, \u{201c}Diia hotel\u{201d}, \u{201c}Introducing Diia\u{201d} and \u{201c}Identification\u{201d} are not branch or service names: they are refused.",
    enter: "Sign in to the cabinet with a KEP",
    operators: "For Diia.QR operators: the desk (moderation, partners, system status)",
};

pub async fn home(lang: Lang) -> Response {
    let t = match lang {
        Lang::Uk => &UK,
        Lang::En => &EN,
    };
    let main = html! {
        h1 { (t.heading) }
        p.lead { (t.lead) }
        p { a.action href="/cabinet" { (t.enter) } }
        section aria-labelledby="how" {
            h2 #how { (t.how_heading) }
            ol.steps { @for step in t.how { li { (step) } } }
        }
        section aria-labelledby="join" {
            h2 #join { (t.join_heading) }
            ol.steps { @for step in t.join { li { (step) } } }
            p.note { (t.names_note) }
        }
        p { a href="/desk" { (t.operators) } }
    };
    respond(StatusCode::OK, page(lang, t.title, "/", main))
}
