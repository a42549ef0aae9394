//! Configuration: defaults, then a TOML file, then `QUOIN_*` environment variables, then flags.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use quoin_app::Mode;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the embedded SQLite database lives.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; unset means SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Address the HTTP server binds.
    pub listen: String,
    /// `development` (test clocks allowed) or `production`.
    pub mode: String,
    /// Log filter, e.g. `info` or `quoin=debug,info`.
    pub log: String,
    /// NATS server to consume usage events from (`quoin serve`); unset: no consumer.
    pub nats_url: Option<String>,
    /// Usage subjects are `<nats_subject_prefix>.<tenant id>`.
    pub nats_subject_prefix: String,
    /// JetStream stream over the usage subjects (created when missing).
    pub nats_stream: String,
    /// Durable consumer shared by every node (same name: the nodes split the messages).
    pub nats_consumer: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("quoin-data"),
            database_url: None,
            listen: "127.0.0.1:8080".into(),
            mode: "development".into(),
            log: "info,sqlx=warn".into(),
            nats_url: None,
            nats_subject_prefix: "quoin.usage".into(),
            nats_stream: "QUOIN_USAGE".into(),
            nats_consumer: "quoin-usage".into(),
        }
    }
}

impl Config {
    /// Loads the configuration; `file` must exist when given, `quoin.toml` is read if present.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) => {
                if !f.exists() {
                    bail!("config file {} does not exist", f.display());
                }
                fig = fig.merge(Toml::file(f));
            }
            None => fig = fig.merge(Toml::file("quoin.toml")),
        }
        let cfg: Config = fig
            .merge(Env::prefixed("QUOIN_").only(&[
                "data_dir",
                "database_url",
                "listen",
                "mode",
                "log",
                "nats_url",
                "nats_subject_prefix",
                "nats_stream",
                "nats_consumer",
            ]))
            .extract()
            .context("invalid configuration (check quoin.toml and QUOIN_* variables)")?;
        cfg.mode()?;
        Ok(cfg)
    }

    pub fn mode(&self) -> anyhow::Result<Mode> {
        match self.mode.as_str() {
            "development" => Ok(Mode::Development),
            "production" => Ok(Mode::Production),
            other => bail!("mode must be `development` or `production`, got `{other}` (set QUOIN_MODE or `mode` in quoin.toml)"),
        }
    }

    /// The store URL: the configured PostgreSQL URL or SQLite in the data directory.
    pub fn store_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite:{}", self.data_dir.join("quoin.db").display()),
        }
    }
}
