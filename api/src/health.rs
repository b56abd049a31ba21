//! `/health`: probes for load balancers and orchestrators. Public, cheap, and not logged
//! when all is well.

use std::{future::Future, sync::Arc};

use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json, types::Example};

use crate::{
    ApiTag,
    problem::{Errors, error_set},
};

/// The state of a probe that passed.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Health {
    /// Always `ok`; a probe that fails answers with a problem document instead.
    pub status: String,
}

impl Example for Health {
    fn example() -> Self {
        Self {
            status: "ok".to_owned(),
        }
    }
}

/// What the server behind `/health/ready` checks.
pub trait HealthBackend: Send + Sync + 'static {
    /// Whether the database answers and its schema is at the latest migration.
    fn ready(&self) -> impl Future<Output = Result<(), Errors<ReadyErrors>>> + Send;
}

#[derive(ApiResponse)]
pub enum HealthResponse {
    /// The probe passed.
    #[oai(status = 200)]
    Ok(Json<Health>),
}

impl HealthResponse {
    fn ok() -> Self {
        Self::Ok(Json(Health::example()))
    }
}

error_set!(
    /// Errors of `get_liveness`: only the server's own.
    LiveErrors:
);
error_set!(
    /// Errors of `get_readiness`: only the server's own (503 when it is not ready).
    ReadyErrors:
);

pub struct HealthApi<B> {
    pub backend: Arc<B>,
}

#[OpenApi(prefix_path = "/health", tag = "ApiTag::Health")]
impl<B: HealthBackend> HealthApi<B> {
    /// Liveness
    ///
    /// Answers as long as the process serves requests; it checks nothing else, so a failing
    /// database never gets a live server restarted.
    #[oai(path = "/live", method = "get", operation_id = "get_liveness")]
    async fn live(&self) -> Result<HealthResponse, Errors<LiveErrors>> {
        Ok(HealthResponse::ok())
    }

    /// Readiness
    ///
    /// Answers 200 when the server can serve: its database answers and its schema is at the
    /// latest migration; 503 otherwise, so a load balancer sends traffic elsewhere.
    #[oai(path = "/ready", method = "get", operation_id = "get_readiness")]
    async fn ready(&self) -> Result<HealthResponse, Errors<ReadyErrors>> {
        self.backend.ready().await?;
        Ok(HealthResponse::ok())
    }
}
