//! The API's own description: an OpenAPI 3.1 document that validates, names exactly the routes
//! the router serves, and a docs page that loads nothing from another host.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use diia_qr_tests::{spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn document(app: &TestApp) -> Value {
    let response = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the document is JSON: {e}"))
}

/// Runs Python with `script`, `input` on its standard input; fails the test with its output.
fn python(script: &str, input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (scripts/setup-machine installs openapi-spec-validator)");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "python failed:\n{stdout}\n{stderr}");
    stdout
}

/// Checks `instance` against the document's component schema `name` (JSON Schema 2020-12, as
/// OpenAPI 3.1 uses it): what an endpoint answers is what its description says.
pub async fn assert_matches_schema(app: &TestApp, name: &str, instance: &Value) {
    let doc = document(app).await;
    let input = serde_json::json!({"doc": doc, "name": name, "instance": instance}).to_string();
    python(
        r##"
import json, sys
from jsonschema import Draft202012Validator
given = json.load(sys.stdin)
schema = {"$ref": "#/components/schemas/" + given["name"], "components": given["doc"]["components"]}
errors = sorted(Draft202012Validator(schema).iter_errors(given["instance"]), key=lambda e: list(e.path))
for e in errors:
    print("/".join(map(str, e.path)), e.message, file=sys.stderr)
sys.exit(1 if errors else 0)
"##,
        &input,
    );
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_names_exactly_the_routes_served() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "{}", doc["openapi"]);
    python(
        "import json, sys\nfrom openapi_spec_validator import validate, OpenAPIV31SpecValidator\n\
         validate(json.load(sys.stdin), cls=OpenAPIV31SpecValidator)",
        &doc.to_string(),
    );

    let described: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| METHODS.iter().filter(|m| item.get(**m).is_some()).map(move |m| (m.to_string(), path.clone())))
        .collect();
    let served: BTreeSet<(String, String)> =
        diia_qr::http::routes().iter().map(|r| (r.method.as_str().to_lowercase(), r.path.to_string())).collect();
    let missing: Vec<_> = served.difference(&described).collect();
    let extra: Vec<_> = described.difference(&served).collect();
    assert!(missing.is_empty() && extra.is_empty(), "served but not described: {missing:?}\ndescribed but not served: {extra:?}");

    // Each described route is answered by its handler, not by the router's fallbacks.
    for (method, path) in &described {
        let concrete = path
            .split('/')
            .map(|segment| if segment.starts_with('{') { "00000000-0000-0000-0000-000000000000" } else { segment })
            .collect::<Vec<_>>()
            .join("/");
        let request = app.client.request(method.to_uppercase().parse().unwrap(), app.url(&concrete));
        let response = request.send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(
            !body.contains("\"route-not-found\"") && !body.contains("\"method-not-allowed\""),
            "{method} {concrete} fell through to the router: {status} {body}"
        );
    }

    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            let operation = &item[*method];
            assert!(operation_ids.insert(operation["operationId"].as_str().unwrap().to_string()), "{method} {path}: operationId repeats");
            let secured = operation["security"].as_array().is_some_and(|s| !s.is_empty());
            // 401 exactly where a session is needed, and on the sign-in that refuses one.
            let signs_in = path == "/api/v1/partner/sign-in" || path == "/api/v1/operator/sign-in";
            assert_eq!(
                secured || signs_in,
                operation["responses"].get("401").is_some(),
                "{method} {path}: 401 exactly where a session is needed"
            );
            if path.starts_with("/api/v1/dev/") {
                assert_eq!(operation["tags"], serde_json::json!(["development"]), "{method} {path} is marked as development");
            }
            let role = path.split('/').nth(3).filter(|r| ["partner", "citizen", "operator"].contains(r));
            if let Some(role) = role.filter(|_| secured) {
                assert_eq!(operation["security"], serde_json::json!([{role: []}]), "{method} {path}: the {role}'s session");
            }
        }
    }
    for role in ["partner", "citizen", "operator"] {
        let scheme = &doc["components"]["securitySchemes"][role];
        assert_eq!((scheme["type"].as_str(), scheme["scheme"].as_str()), (Some("http"), Some("bearer")), "{role}: {scheme}");
    }
    let not_found = &doc["components"]["responses"]["NotFound"]["content"]["application/problem+json"]["schema"];
    assert_eq!(not_found["$ref"], "#/components/schemas/Problem");
    app.shutdown().await;
}

/// The `src` or `href` values in `html`'s `<script>` and `<link>` tags.
fn assets_of(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for tag in html.split('<').filter(|t| t.starts_with("script") || t.starts_with("link")) {
        for attribute in ["src=\"", "href=\""] {
            if let Some(rest) = tag.split_once(attribute).map(|(_, r)| r) {
                found.push(rest.split('"').next().unwrap().to_string());
            }
        }
    }
    found
}

#[tokio::test]
async fn the_docs_page_loads_only_files_the_engine_serves_itself() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/api/v1/docs")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let policy = response.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"), "{policy}");
    let html = response.text().await.unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "no other host in the page:\n{html}");

    let assets = assets_of(&html);
    assert_eq!(assets.len(), 3, "a stylesheet and two scripts: {assets:?}");
    for asset in &assets {
        assert!(asset.starts_with('/') && !asset.starts_with("//"), "{asset} is same-origin");
        let response = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        let kind = response.headers()["content-type"].to_str().unwrap().to_string();
        let expected = if asset.ends_with(".css") { "text/css" } else { "text/javascript" };
        assert!(kind.starts_with(expected), "{asset}: {kind}");
        let body = response.bytes().await.unwrap();
        assert!(body.len() > 100, "{asset} has content");
    }
    // The page's own script points Swagger UI at this origin's document and turns the online
    // validator (another host) off.
    let (_, script) = app.get("/api/v1/docs/docs.js", None).await;
    let script = script.as_str().unwrap().to_string();
    assert!(script.contains("url: \"/api/v1/openapi.json\"") && script.contains("validatorUrl: \"none\""), "{script}");
    assert!(!script.contains("http://") && !script.contains("https://"), "{script}");
    let (status, body) = app.get("/api/v1/docs/swagger-ui.js.map", None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("docs-file-not-found")));
    app.shutdown().await;
}
