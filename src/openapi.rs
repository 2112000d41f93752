//! The OpenAPI 3.1 description, generated: each operation from its handler's `#[utoipa::path]`,
//! each body from its type's schema, each error answer from `ApiError` itself. `make openapi`
//! writes it to `docs/openapi.json`, which the server serves as `GET /openapi.json`; a test fails
//! when that file is stale or when the Router and the description disagree.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::server::{ServerBuilder, ServerVariableBuilder};
use utoipa::openapi::{
    ContentBuilder, OpenApiVersion, RefOr, ResponseBuilder, SecurityRequirement,
};

use crate::app::{Operations, error_answers};
use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Deployment pipeline events API",
        description = "Query a deployment pipeline's events (who deployed what, when) and record new ones. \
            Every error is `{\"error\":{\"code\",\"message\"}}` with a stable `code`. Deployed behind \
            API Gateway, every route but `GET /health` and the webhooks takes the stage's API key in \
            `x-api-key`, and `POST /events` is signed with AWS Signature Version 4 instead. A method a path does not \
            support answers 405 `method_not_allowed` with an `Allow` header; a path that is not here \
            answers 404 `not_found`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(crate::error::ErrorBody)),
    tags(
        (name = "service", description = "The service itself."),
        (name = "events", description = "The pipeline's events."),
        (name = "engineers", description = "Who triggers the pipeline."),
        (name = "services", description = "The services whose pipelines record events here."),
        (name = "summaries", description = "Statistics per day."),
        (name = "metrics", description = "Delivery performance (DORA)."),
        (name = "webhooks", description = "Code hosts' webhooks, verified by their signature."),
    )
)]
struct ApiDoc;

/// The description, as `make openapi` writes it (pretty JSON, ending in a newline).
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi();
    doc.merge(Operations::openapi());
    add_contract(&mut doc);
    doc.openapi = OpenApiVersion::Version31;
    let mut value = serde_json::to_value(&doc).expect("the description serializes");
    finish_responses(&mut value);
    mark_deprecated(&mut value);
    let mut text = serde_json::to_string_pretty(&value).expect("JSON serializes");
    text.push('\n');
    text
}

/// What the handlers' annotations cannot say: servers, security, the error answers of each
/// operation, and the links that page through lists.
fn add_contract(doc: &mut utoipa::openapi::OpenApi) {
    doc.servers = Some(vec![
        ServerBuilder::new()
            .url("https://{api}.execute-api.{region}.amazonaws.com/{stage}")
            .description(Some(
                "Deployed by `make deploy`; `make url ENV=…` prints its base URL (the `invoke_url` output).",
            ))
            .parameter(
                "api",
                ServerVariableBuilder::new().default_value("abc123def4"),
            )
            .parameter(
                "region",
                ServerVariableBuilder::new().default_value("eu-west-1"),
            )
            .parameter("stage", ServerVariableBuilder::new().default_value("dev"))
            .build(),
        ServerBuilder::new()
            .url("http://127.0.0.1:3000")
            .description(Some("`make run` on a laptop: no API key, no signing."))
            .build(),
    ]);
    add_security(doc);
    // No operation answers 405 (a path does, for the methods it lacks): a reusable response
    // is where the description can show it and its `Allow` header.
    let (_, not_allowed) = error_responses(&[ApiError::MethodNotAllowed])
        .pop_first()
        .expect("one status");
    doc.components
        .get_or_insert_with(Default::default)
        .responses
        .insert("MethodNotAllowed".into(), RefOr::T(not_allowed));
    for (path, method, errors) in error_answers() {
        let operation = operation(doc, path, method);
        for (status, response) in error_responses(&errors) {
            operation
                .responses
                .responses
                .insert(status, RefOr::T(response));
        }
    }
    add_next_page_link(operation(doc, "/events", "get"), "list_events", &[]);
    let engineer_events = operation(doc, "/engineers/{engineer}/events", "get");
    add_next_page_link(engineer_events, "engineer_events", &["engineer"]);
    add_link(
        operation(doc, "/engineers", "get"),
        "first_engineer_events",
        LinkBuilder::new()
            .operation_id("engineer_events")
            .description("The events of the first engineer listed.")
            .parameter("engineer", "$response.body#/engineers/0/name")
            .build(),
    );
}

fn operation<'a>(
    doc: &'a mut utoipa::openapi::OpenApi,
    path: &str,
    method: &str,
) -> &'a mut Operation {
    let item = doc
        .paths
        .paths
        .get_mut(path)
        .unwrap_or_else(|| panic!("{path} is described"));
    match method {
        "get" => item.get.as_mut(),
        "post" => item.post.as_mut(),
        _ => None,
    }
    .unwrap_or_else(|| panic!("{method} {path} is described"))
}

/// Reads need the stage's API key; `POST /events` is IAM-signed instead (or, on a local server
/// with `INGEST_TOKEN`, a bearer token); `GET /health` needs nothing (its annotation says so).
fn add_security(doc: &mut utoipa::openapi::OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "api_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "x-api-key",
            "The stage's API key: `terraform -chdir=infra output -raw api_key`.",
        ))),
    );
    let mut sigv4 = ApiKeyValue::with_description(
        "Authorization",
        "AWS Signature Version 4 for service `execute-api` by a principal the API's resource \
         policy allows (`event_writer_role_arns`, or the deployer).",
    );
    sigv4.extensions = Some(
        utoipa::openapi::extensions::ExtensionsBuilder::new()
            .add("x-amazon-apigateway-authtype", "awsSigv4")
            .build(),
    );
    components.add_security_scheme("sigv4", SecurityScheme::ApiKey(ApiKey::Header(sigv4)));
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.description = Some(
        "A local server started with `INGEST_TOKEN` requires `Authorization: Bearer <INGEST_TOKEN>` \
         to record events."
            .into(),
    );
    components.add_security_scheme("ingest_token", SecurityScheme::Http(bearer));
    doc.security = Some(vec![SecurityRequirement::new("api_key", [""; 0])]);
    operation(doc, "/events", "post").security = Some(vec![
        SecurityRequirement::new("sigv4", [""; 0]),
        SecurityRequirement::new("ingest_token", [""; 0]),
    ]);
}

/// One response per status: the body's `code` is one of the codes listed, each with an example
/// as the service writes it.
fn error_responses(errors: &[ApiError]) -> BTreeMap<String, utoipa::openapi::Response> {
    let mut by_status: BTreeMap<StatusCode, Vec<&ApiError>> = BTreeMap::new();
    for error in errors {
        by_status.entry(error.status()).or_default().push(error);
    }
    by_status
        .into_iter()
        .map(|(status, errors)| {
            let mut codes: Vec<&str> = errors.iter().map(|error| error.code()).collect();
            codes.dedup();
            let schema = ObjectBuilder::new()
                .property(
                    "error",
                    ObjectBuilder::new()
                        .property(
                            "code",
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .enum_values(Some(codes.clone())),
                        )
                        .property("message", ObjectBuilder::new().schema_type(Type::String))
                        .required("code")
                        .required("message"),
                )
                .required("error");
            let examples = errors.iter().map(|error| {
                let example = utoipa::openapi::example::ExampleBuilder::new()
                    .value(Some(json!({
                        "error": { "code": error.code(), "message": error.message() }
                    })))
                    .build();
                (error.code(), example)
            });
            let mut response = ResponseBuilder::new()
                .description(format!("`{}`", codes.join("`, `")))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(schema))
                        .examples_from_iter(examples)
                        .build(),
                );
            if status == StatusCode::SERVICE_UNAVAILABLE {
                response = response.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(
                            ObjectBuilder::new()
                                .schema_type(Type::Integer)
                                .minimum(Some(0)),
                        )
                        .description(Some("Seconds to wait before asking again."))
                        .build(),
                );
            }
            if status == StatusCode::METHOD_NOT_ALLOWED {
                response = response.header(
                    "Allow",
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(Type::String))
                        .description(Some(
                            "The methods the path takes: `GET,HEAD`, `POST` on `/events` too, and only `POST` on `/webhooks/github`.",
                        ))
                        .build(),
                );
            }
            // The bearer token's refusal names its scheme; a webhook's gives no hint.
            if errors.contains(&&ApiError::Unauthorized) {
                response = response.header(
                    "WWW-Authenticate",
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(Type::String))
                        .description(Some("`Bearer`"))
                        .build(),
                );
            }
            (status.as_u16().to_string(), response.build())
        })
        .collect()
}

/// A list's 200 links to its next page: `cursor` set to `next_cursor`, the path as it was. The
/// range and filters must be sent again too, but a link can only copy a parameter the request
/// had (`$request.query.to` does not resolve when it had none), so the description says so
/// instead; a cursor sent without them is `400 invalid_cursor`.
fn add_next_page_link(operation: &mut Operation, operation_id: &str, path_parameters: &[&str]) {
    let mut link = LinkBuilder::new()
        .operation_id(operation_id)
        .description(
            "The next page: `cursor` from `next_cursor`, with the same `from`, `to`, `engineer` \
             and `action` as this request (whichever it had).",
        )
        .parameter("cursor", "$response.body#/next_cursor");
    for parameter in path_parameters {
        link = link.parameter(*parameter, format!("$request.path.{parameter}"));
    }
    add_link(operation, "next_page", link.build());
}

fn add_link(operation: &mut Operation, name: &str, link: utoipa::openapi::link::Link) {
    let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200") else {
        panic!("{name}: the operation answers 200");
    };
    ok.links.insert(name.into(), RefOr::T(link));
}

/// What utoipa cannot write on a property that refers to a schema: that it is deprecated.
fn mark_deprecated(doc: &mut Value) {
    let old_name = "/components/schemas/DeliveryFigures/properties/time_to_restore";
    let property = doc
        .pointer_mut(old_name)
        .expect("the delivery figures keep their old name");
    property["deprecated"] = Value::Bool(true);
}

/// What utoipa cannot write: a header object that says its header is always there, and a
/// link's `operationId` (utoipa 5.5 writes `operation_id`).
fn finish_responses(doc: &mut Value) {
    if let Some(header) = doc.pointer_mut("/components/responses/MethodNotAllowed/headers/Allow") {
        header["required"] = Value::Bool(true);
    }
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    let responses = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation["responses"].as_object_mut())
        .flat_map(|responses| responses.iter_mut());
    for (status, response) in responses {
        let required = match status.as_str() {
            "201" => Some("Location"),
            "401" => Some("WWW-Authenticate"),
            "503" => Some("Retry-After"),
            _ => None,
        };
        let headers = response.get_mut("headers");
        if let Some(header) = required.and_then(|name| headers?.get_mut(name)) {
            header["required"] = Value::Bool(true);
        }
        let links = response.get_mut("links").and_then(Value::as_object_mut);
        for link in links.into_iter().flat_map(|links| links.values_mut()) {
            if let Some(id) = link.as_object_mut().and_then(|l| l.remove("operation_id")) {
                link["operationId"] = id;
            }
        }
    }
}
