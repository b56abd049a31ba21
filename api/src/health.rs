//! `/health`: probes for load balancers and orchestrators. Public, cheap, and not logged
//! when all is well.

use poem_openapi::{Object, payload::Json, types::Example};

use crate::problem::error_sets;

/// The state of a probe that passed.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Health {
    /// Always `ok`; a probe that fails answers with a problem document instead.
    pub status: String,
}

examples! {
    Health => Health {
        status: "ok".to_owned(),
    };
}

responses! {
    /// The probe passed.
    HealthResponse: 200 Ok(Json<Health>);
}

impl HealthResponse {
    pub fn ok() -> Self {
        Self::Ok(Json(Health::example()))
    }
}

error_sets! {
    /// Errors of `get_liveness`: only the server's own.
    LiveErrors:;
    /// Errors of `get_readiness`: only the server's own (503 when it is not ready).
    ReadyErrors:;
}
