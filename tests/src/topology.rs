//! How a test reaches its server, and the server PostgreSQL, when the environment asks for
//! the deployment shapes the README describes:
//! - `TASKAPI_TEST_NGINX=1`: every [`TestApp`](crate::TestApp) is two server instances on
//!   one database behind nginx (round robin), so that whatever one instance keeps, the
//!   other must see;
//! - `TASKAPI_TEST_PGBOUNCER=URL` (a URL without a database name): servers reach
//!   PostgreSQL through PgBouncer in transaction pooling mode at URL, with the statement
//!   cache off; migrations and the revocation listener go to PostgreSQL directly.
//!
//! `tests/run` starts PgBouncer and runs the SDK suites both ways.

use std::{
    net::{SocketAddr, TcpListener},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use taskapi_server::config::DatabaseSettings;

use crate::database_server_url;

/// Whether apps are two instances behind nginx.
pub fn behind_nginx() -> bool {
    std::env::var_os("TASKAPI_TEST_NGINX").is_some_and(|value| value == "1")
}

/// Sends the server's request pool through PgBouncer when `TASKAPI_TEST_PGBOUNCER` is set,
/// unless the test pointed the server somewhere else of its own (a cut-able proxy, say).
pub fn route_database(database: &mut DatabaseSettings) {
    let Ok(bouncer) = std::env::var("TASKAPI_TEST_PGBOUNCER") else {
        return;
    };
    let server = format!("{}/", database_server_url());
    let Some(name) = database.url().strip_prefix(&server) else {
        return;
    };
    let through = format!("{}/{name}", bouncer.trim_end_matches('/'));
    database.direct_database_url = database.database_url.replace(through);
    database.db_statement_cache = 0;
}

/// nginx in front of `upstreams`, on a port of its own; stopped when dropped.
pub struct Nginx {
    pub address: SocketAddr,
    process: Child,
    directory: PathBuf,
}

impl Nginx {
    pub async fn start(upstreams: &[SocketAddr]) -> Self {
        let directory =
            std::env::temp_dir().join(format!("taskapi-nginx-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&directory).expect("a directory for nginx");
        let address = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port for nginx");
        let servers: String = upstreams
            .iter()
            .map(|upstream| format!("    server {upstream};\n"))
            .collect();
        let dir = directory.display();
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {dir}/nginx.pid;\n\
             error_log {dir}/error.log warn;\nevents {{ worker_connections 512; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n  \
             proxy_temp_path {dir}/proxy;\n  fastcgi_temp_path {dir}/fastcgi;\n  \
             uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n  \
             upstream taskapi {{\n{servers}    keepalive 16;\n  }}\n  server {{\n    \
             listen {address};\n    client_max_body_size 1m;\n    location / {{\n      \
             proxy_pass http://taskapi;\n      proxy_http_version 1.1;\n      \
             proxy_set_header Connection \"\";\n      proxy_set_header Host $http_host;\n      \
             proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    }}\n  }}\n}}\n"
        );
        let path = directory.join("nginx.conf");
        std::fs::write(&path, config).expect("write nginx.conf");
        let process = Command::new(std::env::var("NGINX").unwrap_or_else(|_| "nginx".to_owned()))
            .arg("-p")
            .arg(&directory)
            .arg("-c")
            .arg(&path)
            .arg("-e")
            .arg(directory.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts (apt-get install nginx, or set NGINX)");
        let nginx = Self {
            address,
            process,
            directory,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(address).await.is_err() {
            assert!(Instant::now() < deadline, "nginx did not start listening");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        nginx
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}
