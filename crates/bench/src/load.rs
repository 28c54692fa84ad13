//! The load runner: the real server (its own 2-thread runtime, as in
//! production on this machine) and concurrent HTTP clients on loopback.
//! Every scenario is reported beside `/healthz`, measured in the same run,
//! so the ratio means something on a noisy machine.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use rollcall_bench::datagen::{Shape, user_id};
use rollcall_server::{AppState, RateLimits, ServerConfig};
use rollcall_service::{Rollcall, SigningKey};
use serde_json::Value;

#[derive(Args)]
pub struct RunArgs {
    #[arg(long, default_value = "sqlite://bench.db")]
    database_url: String,
    /// The user count the database was generated with.
    #[arg(long, default_value_t = 1_000_000)]
    users: u64,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Requests per scenario.
    #[arg(long, default_value_t = 2_000)]
    requests: usize,
    /// Also page through every user with limit=3000.
    #[arg(long)]
    full_scan: bool,
    /// Only scenarios whose name contains this text.
    #[arg(long)]
    only: Option<String>,
}

/// The body `/bench/static` serves: a copy of the delta scenario's response,
/// taken when its scenario comes up (after the delta's, so no other scenario
/// meets a store warmed by it). Served from memory by the same server and
/// listener, outside the API's middleware (auth, tracing, timeouts), it is
/// the floor under the delta: HTTP, TCP and the client for the same bytes.
type StaticBody = Arc<OnceLock<axum::body::Bytes>>;

const STATIC: &str = "/bench/static";

pub fn run(args: RunArgs) -> Result<()> {
    let body = StaticBody::default();
    let base = start_server(&args.database_url, body.clone())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(measure(base, body, args))
}

/// Starts the server on its own runtime thread; returns its base URL.
fn start_server(url: &str, body: StaticBody) -> Result<String> {
    let url = url.to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let store = crate::open_store(&url).await.expect("open database");
            let rollcall = Rollcall::new(store, Arc::new(oneroster::SystemClock), &SigningKey::generate());
            rollcall
                .auth
                .put_admin_client("bench", "bench", "bench-secret")
                .await
                .expect("client");
            let config = ServerConfig {
                rate_limits: RateLimits::OFF,
                ..ServerConfig::default()
            };
            let serve_copy = move || {
                let body = body.clone();
                async move { body.get().cloned().unwrap_or_default() }
            };
            let app =
                rollcall_server::app(AppState::new(rollcall, config)).route(STATIC, axum::routing::get(serve_copy));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(format!("http://{}", listener.local_addr().expect("addr")))
                .expect("send");
            rollcall_server::serve(listener, app, std::future::pending())
                .await
                .expect("serve");
        });
    });
    rx.recv_timeout(Duration::from_secs(60)).context("server did not start")
}

async fn measure(base: String, body: StaticBody, args: RunArgs) -> Result<()> {
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{base}/oauth2/token"))
        .basic_auth("bench", Some("bench-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    let token = Arc::new(token["access_token"].as_str().context("token")?.to_owned());
    let shape = Shape { users: args.users };
    println!("| scenario | first ms | requests | p50 ms | p99 ms | max ms | req/s | rows (X-Total-Count) |");
    println!("|---|---|---|---|---|---|---|---|");
    let wanted = |name: &str| {
        args.only
            .as_deref()
            .is_none_or(|o| name.contains(o) || name.starts_with("baseline"))
    };
    for (name, make) in scenarios(shape).into_iter().filter(|(name, _)| wanted(name)) {
        if make(0) == STATIC && body.get().is_none() {
            let delta = http.get(format!("{base}{DELTA}")).bearer_auth(&*token).send().await?;
            body.set(delta.error_for_status()?.bytes().await?)
                .expect("the copy is taken once");
        }
        // One request alone first: what a cold query costs, before the store
        // remembers its total or position (the load below is then steady state).
        let first = Instant::now();
        get(&http, &format!("{base}{}", make(0)), &token).await?;
        let first = first.elapsed().as_secs_f64() * 1000.0;
        let stats = load(&http, &base, &token, args.concurrency, args.requests, make).await?;
        println!("| {name} | {first:.1} | {} |", stats);
    }
    if args.full_scan {
        let started = Instant::now();
        let rows = full_scan(&http, &base, &token).await?;
        println!(
            "\nPaged all {rows} users with limit=3000 following Link rel=next in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

type MakePath = Box<dyn Fn(u64) -> String + Send + Sync>;

const API: &str = "/ims/oneroster/rostering/v1p2/users";
const DELTA: &str =
    "/ims/oneroster/rostering/v1p2/users?filter=dateLastModified%3E%272026-10-31%27&sort=dateLastModified&limit=1000";

fn scenarios(shape: Shape) -> Vec<(&'static str, MakePath)> {
    let n = shape.users;
    let schools = shape.schools();
    vec![
        ("baseline GET /healthz", Box::new(|_| "/healthz".to_owned()) as MakePath),
        (
            "GET /users/{id}",
            Box::new(move |i| format!("{API}/{}", user_id(i * 7919 % n))),
        ),
        (
            "filter sourcedId=",
            Box::new(move |i| format!("{API}?filter=sourcedId%3D%27{}%27", user_id(i * 7919 % n))),
        ),
        (
            "filter email=",
            Box::new(move |i| format!("{API}?filter=email%3D%27u{}%40district.example.org%27", i * 7919 % n)),
        ),
        (
            "filter username=",
            Box::new(move |i| format!("{API}?filter=username%3D%27u{}%27", i * 7919 % n)),
        ),
        (
            "filter userIds.identifier=",
            Box::new(move |i| format!("{API}?filter=userIds.identifier%3D%27SIS{:07}%27", i * 7919 % n)),
        ),
        (
            "filter familyName= (1 in 10 users)",
            Box::new(|i| {
                format!(
                    "{API}?filter=familyName%3D%27{}%27",
                    ["Lee", "Chen", "Patel"][i as usize % 3]
                )
            }),
        ),
        (
            "filter status='tobedeleted' (2%)",
            Box::new(|_| format!("{API}?filter=status%3D%27tobedeleted%27")),
        ),
        (
            "filter status='active' (98%)",
            Box::new(|_| format!("{API}?filter=status%3D%27active%27")),
        ),
        (
            "filter roles.role='teacher' (7%)",
            Box::new(|_| format!("{API}?filter=roles.role%3D%27teacher%27")),
        ),
        (
            "filter roles.org.sourcedId= (1 school)",
            Box::new(move |i| format!("{API}?filter=roles.org.sourcedId%3D%27school-{}%27", i % schools)),
        ),
        (
            "filter dateLastModified= (exact)",
            Box::new(|_| format!("{API}?filter=dateLastModified%3D%272026-06-01T00%3A00%3A00.000Z%27")),
        ),
        (
            "delta dateLastModified> 1000 rows, sorted",
            Box::new(|_| DELTA.to_owned()),
        ),
        (
            "delta's baseline: its response, static from memory",
            Box::new(|_| STATIC.to_owned()),
        ),
        (
            "page offset=900000 sort=familyName",
            Box::new(|i| format!("{API}?sort=familyName&offset={}&limit=100", 900_000 + i % 1000)),
        ),
        (
            "count, selective (school, limit=1)",
            Box::new(move |i| {
                format!(
                    "{API}?filter=roles.org.sourcedId%3D%27school-{}%27&limit=1",
                    i % schools
                )
            }),
        ),
    ]
}

struct Stats {
    count: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
    per_sec: f64,
    rows: String,
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "{} | {:.1} | {:.1} | {:.1} | {:.0} | {}",
            self.count,
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            self.per_sec,
            self.rows
        )
    }
}

async fn load(
    http: &reqwest::Client,
    base: &str,
    token: &Arc<String>,
    concurrency: usize,
    requests: usize,
    make: MakePath,
) -> Result<Stats> {
    let make = Arc::new(make);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (http, base, token, make) = (http.clone(), base.to_owned(), token.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut rows = String::new();
            for i in (worker..requests).step_by(concurrency) {
                let at = Instant::now();
                rows = get(&http, &format!("{base}{}", make(i as u64)), &token).await?;
                times.push(at.elapsed());
            }
            Ok::<_, anyhow::Error>((times, rows))
        }));
    }
    let mut all = Vec::new();
    let mut rows = String::new();
    for t in tasks {
        let (times, r) = t.await??;
        all.extend(times);
        rows = r;
    }
    let elapsed = started.elapsed();
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Ok(Stats {
        count: all.len(),
        p50: at(0.50),
        p99: at(0.99),
        max: at(1.0),
        per_sec: all.len() as f64 / elapsed.as_secs_f64(),
        rows,
    })
}

/// One successful GET, body read; returns its `X-Total-Count` (or `-`).
async fn get(http: &reqwest::Client, url: &str, token: &str) -> Result<String> {
    let r = http.get(url).bearer_auth(token).send().await?;
    let status = r.status();
    let rows = r
        .headers()
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    r.bytes().await?;
    anyhow::ensure!(status.is_success(), "status {status}");
    Ok(rows)
}

/// Follows `Link: rel="next"` from the first page to the end.
async fn full_scan(http: &reqwest::Client, base: &str, token: &str) -> Result<usize> {
    let mut url = format!("{base}/ims/oneroster/rostering/v1p2/users?limit=3000");
    let mut rows = 0;
    loop {
        let r = http.get(&url).bearer_auth(token).send().await?;
        let next = r
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .and_then(next_link);
        let body: Value = r.json().await?;
        rows += body["users"].as_array().map_or(0, Vec::len);
        match next {
            Some(n) => url = n,
            None => return Ok(rows),
        }
    }
}

fn next_link(header: &str) -> Option<String> {
    header
        .split(", ")
        .find(|l| l.ends_with("rel=\"next\""))
        .and_then(|l| Some(l.split_once('>')?.0.trim_start_matches('<').to_owned()))
}
