//! Heap allocations per request, as the server answers over HTTP/1.1 on loopback: `GET /healthz`,
//! `POST /api/v1/verify` (workspace, permission and resource; a cached token) and
//! `GET /auth/forward` (a cached token, a route rule), the requests of `scripts/load.sh`.
//!
//! The server is the one `keygate serve` runs (`Application`: router, metrics, token-use writer),
//! on SQLite in a temporary folder with the configuration of `scripts/load.sh` (the default log
//! setting, so no request lines; `RUST_LOG=info,keygate::access=debug` turns them on). It runs on a runtime of its own whose
//! threads mark themselves; the client is this program's main thread, on one keep-alive
//! connection. Every allocation and reallocation is counted with the size asked for, by the kind
//! of thread that made it: the figures are those of the server's runtime threads. Threads of
//! neither kind (SQLite's connection workers) are shown apart. SQLite's own C allocations do not
//! go through Rust's allocator and are not counted.
//!
//! Run with `cargo bench -p keygate --bench allocations`.

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use keygate::config::{Config, Overrides};
use keygate::service::Bootstrap;
use keygate::startup::Application;
use tracking_allocator::{AllocationGroupId, AllocationRegistry, AllocationTracker, Allocator};

/// The server's allocator (jemalloc), with a hook on every allocation.
#[global_allocator]
static ALLOCATOR: Allocator<tikv_jemallocator::Jemalloc> =
    Allocator::from_allocator(tikv_jemallocator::Jemalloc);

const WARM_UP: u64 = 1_000;
const REQUESTS: u64 = 10_000;

/// Who a thread works for.
#[derive(Clone, Copy)]
enum Role {
    /// A thread of the server's runtime (workers and blocking pool).
    Server = 0,
    /// Any thread that did not mark itself.
    Other = 1,
    /// The thread sending the requests.
    Client = 2,
}

thread_local! {
    static ROLE: Cell<Role> = const { Cell::new(Role::Other) };
}

/// Allocation calls and bytes asked for, by role.
struct Tally {
    calls: [AtomicU64; 3],
    bytes: [AtomicU64; 3],
}

static TALLY: Tally = Tally {
    calls: [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)],
    bytes: [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)],
};

struct ByRole;

impl AllocationTracker for ByRole {
    fn allocated(
        &self,
        _addr: usize,
        object_size: usize,
        _wrapped_size: usize,
        _group_id: AllocationGroupId,
    ) {
        let role = ROLE.try_with(Cell::get).unwrap_or(Role::Other) as usize;
        TALLY.calls[role].fetch_add(1, Ordering::Relaxed);
        TALLY.bytes[role].fetch_add(object_size as u64, Ordering::Relaxed);
    }

    fn deallocated(
        &self,
        _addr: usize,
        _object_size: usize,
        _wrapped_size: usize,
        _source_group_id: AllocationGroupId,
        _current_group_id: AllocationGroupId,
    ) {
    }
}

#[derive(Clone, Copy)]
struct Snapshot {
    calls: [u64; 3],
    bytes: [u64; 3],
}

impl Snapshot {
    fn now() -> Self {
        let load = |a: &[AtomicU64; 3]| {
            [
                a[0].load(Ordering::SeqCst),
                a[1].load(Ordering::SeqCst),
                a[2].load(Ordering::SeqCst),
            ]
        };
        Self {
            calls: load(&TALLY.calls),
            bytes: load(&TALLY.bytes),
        }
    }

    fn since(self, before: Self, role: Role) -> (u64, u64) {
        let r = role as usize;
        (
            self.calls[r] - before.calls[r],
            self.bytes[r] - before.bytes[r],
        )
    }
}

/// One keep-alive connection sending one request at a time, reading each answer into a buffer it
/// keeps: the client makes no allocation per request.
struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Connection {
    fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect to the server");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        Self {
            stream,
            buf: vec![0; 64 * 1024],
        }
    }

    /// Sends `request` and reads the whole answer; returns the status code and the body.
    fn exchange(&mut self, request: &[u8]) -> (u16, &[u8]) {
        self.stream.write_all(request).expect("send the request");
        let mut filled = 0;
        let head_end = loop {
            let n = self
                .stream
                .read(&mut self.buf[filled..])
                .expect("read the answer");
            assert!(n > 0, "the server closed the connection");
            filled += n;
            if let Some(at) = find(&self.buf[..filled], b"\r\n\r\n") {
                break at + 4;
            }
            assert!(filled < self.buf.len(), "answer head too long");
        };
        let head = &self.buf[..head_end];
        assert!(head.starts_with(b"HTTP/1.1 "), "not an HTTP/1.1 answer");
        let status = std::str::from_utf8(&head[9..12])
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
            .expect("status code");
        let length = content_length(head).expect("answer without Content-Length");
        let end = head_end + length;
        assert!(end <= self.buf.len(), "answer too long");
        while filled < end {
            let n = self
                .stream
                .read(&mut self.buf[filled..end])
                .expect("read the body");
            assert!(n > 0, "the server closed the connection");
            filled += n;
        }
        assert_eq!(filled, end, "more bytes than one answer");
        (status, &self.buf[head_end..end])
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> Option<usize> {
    const NAME: &[u8] = b"content-length:";
    head.split(|&b| b == b'\n').find_map(|line| {
        if line.len() > NAME.len() && line[..NAME.len()].eq_ignore_ascii_case(NAME) {
            std::str::from_utf8(&line[NAME.len()..])
                .ok()?
                .trim()
                .parse()
                .ok()
        } else {
            None
        }
    })
}

/// One kind of request, and what its answer must hold besides status 200.
struct Call {
    name: &'static str,
    request: Vec<u8>,
    body_holds: &'static [u8],
}

/// Warms up, then counts allocations over `REQUESTS` requests on a fresh connection.
fn measure(addr: SocketAddr, call: &Call) -> (u64, u64, u64, Duration) {
    let mut conn = Connection::open(addr);
    let check = |conn: &mut Connection| {
        let (status, body) = conn.exchange(&call.request);
        assert_eq!(status, 200, "{}: status {status}", call.name);
        assert!(
            call.body_holds.is_empty() || find(body, call.body_holds).is_some(),
            "{}: unexpected answer {}",
            call.name,
            String::from_utf8_lossy(body)
        );
    };
    for _ in 0..WARM_UP {
        check(&mut conn);
    }
    let before = Snapshot::now();
    let started = Instant::now();
    for _ in 0..REQUESTS {
        check(&mut conn);
    }
    let took = started.elapsed();
    let after = Snapshot::now();
    let (calls, bytes) = after.since(before, Role::Server);
    let (other, _) = after.since(before, Role::Other);
    (calls, bytes, other, took)
}

fn main() {
    ROLE.set(Role::Client);
    AllocationRegistry::set_global_tracker(ByRole).expect("no other tracker");
    AllocationRegistry::enable_tracking();

    let dir = tempfile::tempdir().expect("temp dir");
    let config_path = dir.path().join("keygate.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"bind = "127.0.0.1:0"
database_url = "sqlite://{}"

[[route]]
methods = ["GET"]
path = "/w/{{workspace}}/devices/{{device}}"
permission = "devices:read"
resource = "device:{{device}}"
workspace = "{{workspace}}"
"#,
            dir.path().join("keygate.db").display()
        ),
    )
    .expect("write the configuration");
    let config = Config::load(Some(config_path.as_path()), &Overrides::default())
        .expect("load the configuration");
    keygate::telemetry::init(&config.log, config.log_format);

    let server = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("keygate-server")
        .on_thread_start(|| ROLE.set(Role::Server))
        .build()
        .expect("server runtime");
    let (addr, token) = server.block_on(async {
        let app = Application::build(&config).await.expect("server");
        let done = app
            .keygate()
            .bootstrap(Bootstrap {
                email: "load@example.com".into(),
                workspace: Some("bench".into()),
                password: None,
            })
            .await
            .expect("bootstrap");
        let addr = app.local_addr();
        tokio::spawn(async move {
            app.run_until_stopped().await.expect("serve");
        });
        (addr, done.clear.into_exposed())
    });

    let host = format!("Host: {addr}\r\n");
    let verify_body = format!(
        r#"{{"token":"{token}","workspace":"bench","permission":"devices:read","resource":"device:abc"}}"#
    );
    let calls = [
        Call {
            name: "GET /healthz",
            request: format!("GET /healthz HTTP/1.1\r\n{host}\r\n").into_bytes(),
            body_holds: br#""status":"ok""#,
        },
        Call {
            name: "POST /api/v1/verify",
            request: format!(
                "POST /api/v1/verify HTTP/1.1\r\n{host}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{verify_body}",
                verify_body.len()
            )
            .into_bytes(),
            body_holds: br#""valid":true"#,
        },
        Call {
            name: "GET /auth/forward",
            request: format!(
                "GET /auth/forward HTTP/1.1\r\n{host}Authorization: Token {token}\r\nX-Forwarded-Method: GET\r\nX-Forwarded-Uri: /w/bench/devices/abc\r\n\r\n"
            )
            .into_bytes(),
            body_holds: b"",
        },
    ];

    println!(
        "Heap allocations per request on the server's runtime threads: {REQUESTS} requests after {WARM_UP} to warm up, one HTTP/1.1 keep-alive connection on loopback"
    );
    for call in &calls {
        let (server_calls, server_bytes, other_calls, took) = measure(addr, call);
        assert!(server_calls > 0, "{}: no allocation counted", call.name);
        let per = |n: u64| n as f64 / REQUESTS as f64;
        println!(
            "{:<20} {:>8.2} allocations/request {:>9.0} bytes/request   (other threads: {:.2} allocations/request; {:.1} µs/request)",
            call.name,
            per(server_calls),
            per(server_bytes),
            per(other_calls),
            took.as_secs_f64() * 1e6 / REQUESTS as f64,
        );
    }
    server.shutdown_timeout(Duration::from_secs(1));
}
