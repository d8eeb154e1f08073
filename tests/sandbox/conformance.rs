//! The sandbox's bodies against the official machine-readable descriptions in
//! `shared/specs/` (Google discovery documents, the Microsoft Graph OpenAPI subset), and
//! its token responses against RFC 6749 §5.

use ferry_sandbox::browser::{Browser, Outcome, Person};
use ferry_sandbox::Sandbox;
use oauth2::{CsrfToken, PkceCodeChallenge, Scope};
use serde_json::{json, Map, Value};

use crate::support::{self, param, read_spec, DEMO_GOOGLE_CLIENT_ID, DEMO_MICROSOFT_CLIENT_ID};

// --- Google's discovery-document schema dialect ----------------------------------------

/// Checks `value` against schema `id` of a discovery document, strictly: every property
/// the sandbox sends must be described, with the described type (64-bit integers are
/// JSON strings in this dialect).
pub(crate) fn check_discovery(
    doc: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    problems: &mut Vec<String>,
) {
    if let Some(name) = schema.get("$ref").and_then(Value::as_str) {
        let target = &doc["schemas"][name];
        assert!(target.is_object(), "unknown $ref {name}");
        return check_discovery(doc, target, value, at, problems);
    }
    let format = schema.get("format").and_then(Value::as_str);
    let ok = match (schema.get("type").and_then(Value::as_str), value) {
        (Some("string"), Value::String(_)) => true,
        (Some("boolean"), Value::Bool(_)) => true,
        (Some("integer"), Value::Number(n)) => n.is_i64() || n.is_u64(),
        (Some("number"), Value::Number(_)) => true,
        (Some("array"), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check_discovery(doc, &schema["items"], item, &format!("{at}[{i}]"), problems);
            }
            true
        }
        (Some("object"), Value::Object(fields)) => {
            check_object(doc, schema, fields, at, problems);
            true
        }
        (Some("any"), _) => true,
        (None, _) => true,
        _ => false,
    };
    if !ok || (matches!(format, Some("int64" | "uint64")) && !value.is_string()) {
        problems.push(format!("{at}: {value} is not {}", schema["type"]));
    }
}

fn check_object(
    doc: &Value,
    schema: &Value,
    fields: &Map<String, Value>,
    at: &str,
    problems: &mut Vec<String>,
) {
    for (key, field) in fields {
        match schema["properties"].get(key) {
            Some(property) => {
                check_discovery(doc, property, field, &format!("{at}.{key}"), problems)
            }
            None => match schema.get("additionalProperties") {
                Some(extra) => check_discovery(doc, extra, field, &format!("{at}.{key}"), problems),
                None => problems.push(format!("{at}.{key} is not in the schema")),
            },
        }
    }
}

// --- OpenAPI 3.0 to JSON Schema ---------------------------------------------------------

/// OpenAPI's `nullable: true` becomes a JSON Schema type union with `null`.
fn openapi_to_json_schema(node: &mut Value) {
    match node {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([t, "null"]));
                }
            }
            map.values_mut().for_each(openapi_to_json_schema);
        }
        Value::Array(items) => items.iter_mut().for_each(openapi_to_json_schema),
        _ => {}
    }
}

pub(crate) fn graph_validator(schema_name: &str) -> (jsonschema::Validator, Value) {
    let mut spec = read_spec("microsoft/graph-v1.0-subset.json");
    openapi_to_json_schema(&mut spec);
    let root = json!({
        "$ref": format!("#/components/schemas/{schema_name}"),
        "components": spec["components"].clone(),
    });
    (
        jsonschema::validator_for(&root).expect("valid schema"),
        spec,
    )
}

/// Every property of a Graph schema, following `allOf` through `$ref`s.
pub(crate) fn graph_properties(spec: &Value, schema: &Value, into: &mut Vec<String>) {
    if let Some(name) = schema.get("$ref").and_then(Value::as_str) {
        let key = name.trim_start_matches("#/components/schemas/");
        return graph_properties(spec, &spec["components"]["schemas"][key], into);
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        parts
            .iter()
            .for_each(|part| graph_properties(spec, part, into));
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        into.extend(props.keys().cloned());
    }
}

pub(crate) fn assert_valid(validator: &jsonschema::Validator, value: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the spec:\n{}\n{value}",
        errors.join("\n")
    );
}

// --- Sign-in helpers ---------------------------------------------------------------------

async fn google_access_token(sb: &Sandbox) -> (String, Value) {
    let redirect = "http://127.0.0.1:4242/oauth/google";
    let client = oauth_client!(
        DEMO_GOOGLE_CLIENT_ID,
        format!("{}/o/oauth2/v2/auth", sb.google_url()),
        format!("{}/token", sb.google_url()),
        redirect
    );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(["openid", "email", "profile"].map(|s| Scope::new(s.into())))
        .set_pkce_challenge(challenge)
        .url();
    let Ok(Outcome::Redirect(back)) = Browser::new()
        .authorize(url.as_str(), &Person::new("grace@example.org", "grace"))
        .await
    else {
        panic!("sign-in");
    };
    // Raw exchange, to see the body and headers exactly as sent.
    let response = support::http()
        .post(format!("{}/token", sb.google_url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", DEMO_GOOGLE_CLIENT_ID),
            ("code", &param(&back, "code").expect("code")),
            ("redirect_uri", redirect),
            ("code_verifier", verifier.secret()),
        ])
        .send()
        .await
        .expect("exchange");
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "RFC 6749 §5.1"
    );
    let body: Value = response.json().await.expect("JSON");
    (
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
        body,
    )
}

async fn microsoft_access_token(sb: &Sandbox) -> String {
    support::microsoft_token(
        sb,
        &Person::new("katherine@contoso.example", "katherine"),
        &["User.Read"],
    )
    .await
}

// --- Tests ----------------------------------------------------------------------------

#[tokio::test]
async fn google_userinfo_matches_the_oauth2_v2_discovery_document_at_every_described_path() {
    let sb = support::start().await;
    let (token, _) = google_access_token(&sb).await;
    let doc = read_spec("google/oauth2.v2.json");
    let methods = [
        &doc["resources"]["userinfo"]["methods"]["get"],
        &doc["resources"]["userinfo"]["resources"]["v2"]["resources"]["me"]["methods"]["get"],
    ];
    for method in methods {
        let path = method["path"].as_str().expect("path");
        assert_eq!(method["httpMethod"], "GET");
        let response = support::http()
            .get(format!("{}/{path}", sb.google_url()))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "{path} is served");
        let body: Value = response.json().await.expect("JSON");
        let mut problems = Vec::new();
        check_discovery(&doc, &method["response"], &body, path, &mut problems);
        assert!(problems.is_empty(), "{path}: {problems:?}\n{body}");
        assert_eq!(body["email"], "grace@example.org");
        assert_eq!(body["hd"], "example.org", "Workspace accounts carry hd");
    }
}

#[tokio::test]
async fn the_discovery_checker_catches_undescribed_and_mistyped_fields() {
    let doc = read_spec("google/oauth2.v2.json");
    let schema = json!({"$ref": "Userinfo"});
    let mut problems = Vec::new();
    check_discovery(
        &doc,
        &schema,
        &json!({"email": "a@b", "verified_email": "yes", "mood": "good"}),
        "x",
        &mut problems,
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
}

#[tokio::test]
async fn graph_me_and_its_errors_match_the_openapi_subset() {
    let sb = support::start().await;
    let token = microsoft_access_token(&sb).await;
    let me: Value = support::http()
        .get(format!("{}/v1.0/me", sb.microsoft_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("/me")
        .json()
        .await
        .expect("JSON");
    let (validator, spec) = graph_validator("microsoft.graph.user");
    assert_valid(&validator, &me, "GET /me");
    let mut described = Vec::new();
    graph_properties(
        &spec,
        &spec["components"]["schemas"]["microsoft.graph.user"],
        &mut described,
    );
    for key in me
        .as_object()
        .expect("object")
        .keys()
        .filter(|k| !k.starts_with('@'))
    {
        assert!(
            described.contains(key),
            "/me sends {key}, which microsoft.graph.user does not describe"
        );
    }
    assert!(
        validator
            .iter_errors(&json!({"displayName": 5}))
            .next()
            .is_some(),
        "the validator is not vacuous"
    );

    let error: Value = support::http()
        .get(format!("{}/v1.0/me", sb.microsoft_url()))
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("/me")
        .json()
        .await
        .expect("JSON");
    let (validator, _) = graph_validator("microsoft.graph.ODataErrors.ODataError");
    assert_valid(&validator, &error, "Graph error body");
    assert!(
        validator
            .iter_errors(&json!({"message": "x"}))
            .next()
            .is_some(),
        "error is required"
    );
}

#[tokio::test]
async fn token_responses_and_errors_follow_rfc_6749_section_5() {
    let sb = support::start().await;
    let (_, body) = google_access_token(&sb).await;
    let fields = body.as_object().expect("object");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].is_u64());
    for key in fields.keys() {
        assert!(
            [
                "access_token",
                "expires_in",
                "refresh_token",
                "scope",
                "token_type",
                "id_token",
                "refresh_token_expires_in"
            ]
            .contains(&key.as_str()),
            "Google's token response has no field {key}"
        );
    }
    for (url, form) in [
        (
            format!("{}/token", sb.google_url()),
            vec![
                ("grant_type", "password"),
                ("client_id", DEMO_GOOGLE_CLIENT_ID),
            ],
        ),
        (
            format!("{}/common/oauth2/v2.0/token", sb.microsoft_url()),
            vec![
                ("grant_type", "password"),
                ("client_id", DEMO_MICROSOFT_CLIENT_ID),
            ],
        ),
    ] {
        let response = support::http()
            .post(&url)
            .form(&form)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 400, "{url}");
        let error: Value = response.json().await.expect("JSON");
        assert_eq!(error["error"], "unsupported_grant_type", "{url}: {error}");
        assert!(error["error_description"].is_string());
    }
}

#[tokio::test]
async fn discovery_documents_have_the_fields_clients_rely_on() {
    let sb = support::start().await;
    let get = |url: String| async move {
        support::http()
            .get(url)
            .send()
            .await
            .expect("GET")
            .json::<Value>()
            .await
            .expect("JSON")
    };
    let google = get(format!(
        "{}/.well-known/openid-configuration",
        sb.google_url()
    ))
    .await;
    for key in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "revocation_endpoint",
        "jwks_uri",
    ] {
        let value = google[key]
            .as_str()
            .unwrap_or_else(|| panic!("google discovery lacks {key}"));
        assert!(
            value.starts_with(sb.google_url()),
            "{key} points at the sandbox: {value}"
        );
    }
    assert_eq!(
        google["code_challenge_methods_supported"],
        json!(["plain", "S256"])
    );
    let jwks = get(google["jwks_uri"].as_str().expect("jwks").to_owned()).await;
    assert_eq!(jwks["keys"][0]["kty"], "RSA");

    let ms = get(format!(
        "{}/consumers/v2.0/.well-known/openid-configuration",
        sb.microsoft_url()
    ))
    .await;
    assert_eq!(
        ms["issuer"],
        format!(
            "{}/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
            sb.microsoft_url()
        )
    );
    let common = get(format!(
        "{}/common/v2.0/.well-known/openid-configuration",
        sb.microsoft_url()
    ))
    .await;
    assert_eq!(
        common["issuer"],
        format!("{}/{{tenantid}}/v2.0", sb.microsoft_url()),
        "common's issuer is a template"
    );
    assert_eq!(
        common["scopes_supported"],
        json!(["openid", "profile", "email", "offline_access"])
    );
}

#[tokio::test]
async fn sign_in_pages_say_plainly_they_are_the_ferry_sandbox() {
    let sb = support::start().await;
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    for (url, provider) in [
        (
            format!("{}/o/oauth2/v2/auth?client_id={DEMO_GOOGLE_CLIENT_ID}&redirect_uri=http://127.0.0.1:9/cb&response_type=code&scope=openid&code_challenge={challenge}&code_challenge_method=S256", sb.google_url()),
            "Google",
        ),
        (
            format!("{}/common/oauth2/v2.0/authorize?client_id={DEMO_MICROSOFT_CLIENT_ID}&redirect_uri=ferry://oauth/microsoft&response_type=code&scope=openid", sb.microsoft_url()),
            "Microsoft",
        ),
    ] {
        let page = support::http().get(url).send().await.expect("page").text().await.expect("html");
        assert!(page.contains("data-sandbox=\"ferry\""), "{provider}: no sandbox banner");
        assert!(page.contains("<strong>Ferry sandbox</strong>"), "{provider}: banner text");
        assert!(page.contains(&format!("It is not {provider}")), "{provider}: says it is not {provider}");
        let demo_user = if provider == "Google" { "ada@example.com" } else { "alan@outlook.example" };
        assert!(page.contains("Sandbox accounts") && page.contains(demo_user), "{provider}: the demo accounts are listed");
    }
}
