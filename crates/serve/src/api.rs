//! JSON endpoints the pages draw from, and the pictures they show. Everything is read from the
//! store per request: a page that refetches sees what a sweep committed since.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pixelcnn_report::{ExperimentData, MAX_COMPARED};
use pixelcnn_store::{RunFilter, Store};
use serde_json::Value;

use crate::AppState;
use crate::error::PageError;
use crate::views::{self, RunPage};

/// A JSON body, or the error as JSON.
fn reply(result: Result<Value, PageError>) -> Response {
    match result {
        Ok(value) => ([(header::CACHE_CONTROL, "no-store")], axum::Json(value)).into_response(),
        Err(e) => e.json(),
    }
}

/// `GET /api/experiments`.
pub(crate) async fn experiments(State(state): State<AppState>) -> Response {
    let made = async {
        let experiments = state.store.experiments().await?;
        let runs = state.store.list_runs(&RunFilter::default()).await?;
        Ok(views::experiments(&experiments, &runs))
    };
    reply(made.await)
}

/// `GET /api/experiments/NAME`.
pub(crate) async fn experiment(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let made = async {
        let data = ExperimentData::load_records(&state.store, &name).await?;
        let summaries = state.store.run_summaries(&name).await?;
        let pictures = state.store.experiment_pictures(&name).await?;
        Ok(views::experiment(&data, &summaries, &pictures))
    };
    reply(made.await)
}

/// `GET /api/experiments/NAME/curves?runs=A,B,...` (full ids; without `runs`, every run of the
/// experiment): a page asks only for the curves it draws.
pub(crate) async fn curves(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let made = async {
        let (ids, epochs) = match query.get("runs") {
            Some(list) => {
                let ids: Vec<String> = list.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
                let epochs = state.store.epochs_of_runs(&ids).await?;
                (ids, epochs)
            }
            None => {
                let filter = RunFilter { experiment: Some(name.clone()), ..RunFilter::default() };
                let ids = state.store.list_runs(&filter).await?.into_iter().map(|r| r.id).collect();
                (ids, state.store.experiment_epochs(&name).await?)
            }
        };
        Ok(views::curves(&ids, &epochs))
    };
    reply(made.await)
}

/// Everything the run page shows.
async fn run_page(store: &Store, id: &str) -> Result<RunPage, PageError> {
    let detail = store.run(id).await?;
    let profile = match &detail.run.sweep_id {
        Some(sweep) => store.sweep(sweep).await?.profile,
        None => None,
    };
    Ok(RunPage {
        epochs: store.epochs(&detail.id).await?,
        artefacts: store.artefacts(&detail.id).await?,
        rungs: store.rung_decisions(&detail.id).await?,
        verdicts: store.verdicts(&detail.id).await?,
        profile,
        detail,
    })
}

/// `GET /api/runs/ID`.
pub(crate) async fn run(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    reply(run_page(&state.store, &id).await.map(|page| views::run(&page)))
}

/// The run ids of `?runs=A,B,...`: 2 to [`MAX_COMPARED`], none twice.
pub(crate) fn compared_ids(query: &HashMap<String, String>) -> Result<Vec<String>, PageError> {
    let ids: Vec<String> = query
        .get("runs")
        .map(|list| list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    if ids.len() < 2 || ids.len() > MAX_COMPARED {
        return Err(PageError::BadRequest(format!(
            "compare takes 2 to {MAX_COMPARED} runs (?runs=A,B,...), got {}",
            ids.len()
        )));
    }
    Ok(ids)
}

/// `GET /api/compare?runs=A,B,...`.
pub(crate) async fn compare(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let made = async {
        let mut runs = Vec::new();
        for id in compared_ids(&query)? {
            let detail = state.store.run(&id).await?;
            if runs.iter().any(|(r, _): &(pixelcnn_store::RunDetail, _)| r.id == detail.id) {
                return Err(PageError::BadRequest(format!("run {} is named twice", detail.id)));
            }
            let epochs = state.store.epochs(&detail.id).await?;
            runs.push((detail, epochs));
        }
        Ok(views::compare(&runs))
    };
    reply(made.await)
}

/// `GET /pictures/ID`: a picture's PNG bytes, from the store only. A file artefact (a
/// checkpoint) or an unknown id is a 404: no request reaches the file system.
pub(crate) async fn picture(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let found =
        if uuid::Uuid::parse_str(&id).is_ok() { state.store.artefact_data(&id).await } else { Ok(None) };
    match found {
        Ok(Some(png)) => {
            ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "max-age=3600")], png)
                .into_response()
        }
        Ok(None) => PageError::NotFound(format!("no picture {id}")).json(),
        Err(e) => PageError::from(e).json(),
    }
}
