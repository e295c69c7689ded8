//! HTML pages: one shell template per page kind, filled in the browser by `assets/app.js` from
//! the API. Unknown experiments and runs are answered here with a 404 page, before any script.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use pixelcnn_report::{ExperimentData, Report};

use crate::AppState;
use crate::error::PageError;

/// The templates; `.html` names auto-escape every value.
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.add_template("page.html", include_str!("../templates/page.html")).expect("the page template parses");
    env
});

/// The shell of a page of kind `page` (what the script draws) about `arg` (an experiment's name,
/// a run's id), both escaped into attributes; `message` is shown as text.
fn shell(
    state: &AppState,
    status: StatusCode,
    title: &str,
    page: &str,
    arg: &str,
    message: Option<&str>,
) -> Response {
    let context = minijinja::context! { title, page, arg, message, db => &*state.db };
    match TEMPLATES.get_template("page.html").and_then(|t| t.render(context)) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("template: {e}\n")).into_response(),
    }
}

/// A page saying what was not found (404) or what went wrong (500).
fn error_page(state: &AppState, error: PageError) -> Response {
    let (status, message) = error.parts();
    if status.is_server_error() {
        tracing::error!("{message}");
    }
    let title = if status == StatusCode::NOT_FOUND { "Not found" } else { "Error" };
    shell(state, status, title, "missing", "", Some(message))
}

/// `GET /`: every experiment.
pub(crate) async fn experiments(State(state): State<AppState>) -> Response {
    shell(&state, StatusCode::OK, "Experiments", "experiments", "", None)
}

/// `GET /experiments/NAME`.
pub(crate) async fn experiment(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match state.store.experiments().await {
        Ok(all) if all.iter().any(|e| e.name == name) => {
            shell(&state, StatusCode::OK, &name, "experiment", &name, None)
        }
        Ok(_) => error_page(&state, PageError::NotFound(format!("no experiment {name}"))),
        Err(e) => error_page(&state, e.into()),
    }
}

/// `GET /experiments/NAME/report`: the static report, as `pixelcnn report` writes it, made now.
pub(crate) async fn report(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let made = async {
        let data = ExperimentData::load(&state.store, &name).await?;
        let now = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
        Report::build(&data, &now)?.html().map_err(PageError::from)
    };
    match made.await {
        Ok(html) => Html(html).into_response(),
        Err(e) => error_page(&state, e),
    }
}

/// `GET /runs/ID` (an id prefix works, as on the command line).
pub(crate) async fn run(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state.store.run(&id).await {
        Ok(run) => {
            let title = format!("Run {}", &run.id[..8.min(run.id.len())]);
            shell(&state, StatusCode::OK, &title, "run", &run.id, None)
        }
        Err(e) => error_page(&state, e.into()),
    }
}

/// `GET /compare?runs=A,B,...`.
pub(crate) async fn compare(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let runs = query.get("runs").map(String::as_str).unwrap_or("");
    shell(&state, StatusCode::OK, "Compare runs", "compare", runs, None)
}

/// Anything else.
pub(crate) async fn not_found(State(state): State<AppState>) -> Response {
    error_page(&state, PageError::NotFound("no such page".into()))
}
