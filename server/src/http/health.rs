//! `/health`: probes for load balancers and orchestrators. Public, cheap, and not logged
//! when all is well.

use taskapi_api::health::{HealthResponse, LiveErrors, ReadyErrors};

use super::prelude::*;

/// The operations on `/health`.
pub enum Health {}

#[OpenApi(prefix_path = "/health", tag = "ApiTag::Health")]
impl Api<Health> {
    /// Liveness
    ///
    /// Answers as long as the process serves requests; it checks nothing else, so a failing
    /// database never gets a live server restarted.
    #[oai(path = "/live", method = "get", operation_id = "get_liveness")]
    async fn get_liveness(&self) -> Result<HealthResponse, Errors<LiveErrors>> {
        Ok(HealthResponse::ok())
    }

    /// Readiness
    ///
    /// Answers 200 when the server can serve: its database answers and its schema is at the
    /// latest migration; 503 otherwise, so a load balancer sends traffic elsewhere.
    #[oai(path = "/ready", method = "get", operation_id = "get_readiness")]
    async fn get_readiness(&self) -> Result<HealthResponse, Errors<ReadyErrors>> {
        self.health.ready().await?;
        Ok(HealthResponse::ok())
    }
}
