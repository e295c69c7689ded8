//! Change stamps: what a page polls every second to learn, cheaply, whether anything it shows has
//! changed. A stamp is a hash of each run's status, epoch count, labels and end, and of the
//! number of live pictures, so a committed epoch, status change, picture or tag moves it.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pixelcnn_store::{RunDetail, RunFilter};

use crate::AppState;
use crate::error::PageError;

fn hash_runs(runs: &[RunDetail], hasher: &mut DefaultHasher) {
    for run in runs {
        (
            &run.id,
            run.status.as_str(),
            run.last_epoch,
            &run.run.tags,
            &run.run.note,
            &run.ended_at,
            &run.error,
        )
            .hash(hasher);
    }
}

/// `GET /api/stamp?experiment=NAME` or `?run=ID` (neither: every run): `{"stamp": "..."}`.
pub(crate) async fn stamp(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let store = &state.store;
    let made = async {
        let mut hasher = DefaultHasher::new();
        if let Some(id) = query.get("run") {
            let run = store.run(id).await?;
            hash_runs(std::slice::from_ref(&run), &mut hasher);
            store
                .artefacts(&run.id)
                .await?
                .iter()
                .filter(|a| a.deleted_at.is_none())
                .count()
                .hash(&mut hasher);
        } else {
            let experiment = query.get("experiment").cloned();
            let runs = store
                .list_runs(&RunFilter { experiment: experiment.clone(), ..RunFilter::default() })
                .await?;
            hash_runs(&runs, &mut hasher);
            if let Some(name) = &experiment {
                store.experiment_pictures(name).await?.len().hash(&mut hasher);
            }
        }
        Ok::<_, PageError>(format!("{:016x}", hasher.finish()))
    };
    match made.await {
        Ok(stamp) => {
            ([(header::CACHE_CONTROL, "no-store")], axum::Json(serde_json::json!({ "stamp": stamp })))
                .into_response()
        }
        Err(e) => e.json(),
    }
}
