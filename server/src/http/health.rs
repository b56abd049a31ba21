//! Entry point of `/health/ready`.

use taskapi_api::{
    health::{HealthBackend, ReadyErrors},
    problem::Errors,
};

use super::AppState;

impl HealthBackend for AppState {
    async fn ready(&self) -> Result<(), Errors<ReadyErrors>> {
        Ok(self.health.ready().await?)
    }
}
