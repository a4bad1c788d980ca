//! A private `redis-server` a test may stop and restart, and a pub/sub listener.

use std::process::Command;
use std::time::Duration;

/// A `redis-server` on its own port (no persistence), stopped when dropped.
pub struct TestRedis {
    port: u16,
}

impl TestRedis {
    /// Starts `redis-server` on `port` (tests use 18550-18599, one port per test).
    pub async fn start(port: u16) -> Self {
        let redis = Self { port };
        redis.restart().await;
        redis
    }

    /// `redis://admin:x@127.0.0.1:PORT`: a user that is always let in, even while the server
    /// is closed to the default user (see [`TestRedis::restart_closed`]).
    pub fn admin_url(&self) -> String {
        format!("redis://admin:x@127.0.0.1:{}", self.port)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server again (after [`TestRedis::stop`]) and waits until it answers.
    pub async fn restart(&self) {
        self.launch(true).await;
    }

    /// Starts the server again but refuses the default user (the one the app connects as)
    /// until [`TestRedis::open`]: a test can subscribe before the app gets in.
    pub async fn restart_closed(&self) {
        self.launch(false).await;
    }

    /// Lets the default user in.
    pub fn open(&self) {
        let out = self.cli(&[
            "ACL", "SETUSER", "default", "on", "nopass", "~*", "&*", "+@all",
        ]);
        assert_eq!(out.as_deref().map(str::trim), Some("OK"), "opening Redis");
    }

    async fn launch(&self, open: bool) {
        let default_user = if open { "on nopass ~* &* +@all" } else { "off" };
        let status = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--user",
                "admin",
                "on",
                "nopass",
                "~*",
                "&*",
                "+@all",
                "--user",
                "default",
            ])
            .args(default_user.split(' '))
            .status()
            .expect("redis-server runs");
        assert!(status.success(), "redis-server failed to start");
        for _ in 0..100 {
            if self.cli(&["PING"]).is_some_and(|out| out.trim() == "PONG") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not come up", self.port);
    }

    /// Stops the server (`SHUTDOWN NOSAVE`) and waits until it is gone.
    pub async fn stop(&self) {
        let _ = self.cli(&["SHUTDOWN", "NOSAVE"]);
        for _ in 0..100 {
            if self.cli(&["PING"]).is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not stop", self.port);
    }

    /// Runs a `redis-cli` command as the admin user; `None` when the server is not reachable.
    pub fn command(&self, args: &[&str]) -> Option<String> {
        self.cli(args)
    }

    fn cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["--no-auth-warning", "--user", "admin", "--pass", "x"])
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.success() && !text.contains("Could not connect")).then_some(text)
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let _ = self.cli(&["SHUTDOWN", "NOSAVE"]);
    }
}

/// A plain connection to the Redis at `url`, for a test that reads or writes keys directly.
pub async fn redis_connection(url: &str) -> deadpool_redis::redis::aio::MultiplexedConnection {
    deadpool_redis::redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}
