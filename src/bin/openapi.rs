//! `make openapi`: prints the OpenAPI description that `docs/openapi.json` must hold.

fn main() {
    print!("{}", pipeline_events_api::openapi::openapi_json());
}
