//! A WebDriver client for the console tests: Debian's `chromedriver`
//! driving headless Chromium (1280×900), over the W3C WebDriver protocol
//! with curl. Screenshots go to the folder given at start.

use crate::require_tool;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A WebDriver session on chromedriver.
pub struct Browser {
    _driver: Proc,
    base: String,
    out: PathBuf,
    _profile: tempfile::TempDir,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    pub fn start(out: &Path) -> Browser {
        let chromium = require_tool("chromium", "chromium");
        let driver = require_tool("chromedriver", "chromium-driver");
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Proc(child);
        let root = format!("http://127.0.0.1:{port}");
        let t0 = Instant::now();
        while wd("GET", &format!("{root}/status"), None)["value"]["ready"] != true {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "chromedriver not ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--window-size=1280,900",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let v = wd("POST", &format!("{root}/session"), Some(&caps));
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"));
        std::fs::create_dir_all(out).unwrap();
        Browser {
            _driver: driver,
            base: format!("{root}/session/{id}"),
            out: out.to_path_buf(),
            _profile: profile,
        }
    }

    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let v = wd(method, &format!("{}{path}", self.base), body);
        assert!(
            !v.is_null() && v["value"]["error"].is_null(),
            "{method} {path}: {v}"
        );
        v["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(&json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap().to_string()
    }

    pub fn source(&self) -> String {
        self.call("GET", "/source", None)
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(&json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {v}\n{}", self.source()))
            .to_string()
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(&json!({ "text": text })),
        );
    }

    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), Some(&json!({})));
    }

    pub fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.call("GET", &format!("/element/{e}/text"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Waits until the page's source contains `s` (an auto-submitted form
    /// navigates on its own).
    pub fn wait_for(&self, s: &str) -> String {
        let t0 = Instant::now();
        loop {
            let src = self.source();
            if src.contains(s) {
                return src;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "{s:?} never shown: {src}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn screenshot(&self, name: &str) {
        let b64 = self.call("GET", "/screenshot", None);
        let png = base64_decode(b64.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(self.out.join(name), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = wd("DELETE", &self.base, None);
    }
}

/// One WebDriver command with curl; the JSON answer.
fn wd(method: &str, url: &str, body: Option<&Value>) -> Value {
    let mut c = Command::new("curl");
    c.args(["-s", "-X", method, "-H", "Content-Type: application/json"]);
    if let Some(b) = body {
        c.arg("--data-binary").arg(b.to_string());
    }
    let out = c.arg(url).output().expect("curl");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a') as u32 + 26,
            b'0'..=b'9' => (c - b'0') as u32 + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let data: Vec<u8> = chunk.iter().copied().filter(|c| *c != b'=').collect();
        let mut n = 0u32;
        for (i, c) in data.iter().enumerate() {
            n |= val(*c) << (18 - 6 * i);
        }
        out.extend(
            n.to_be_bytes()[1..]
                .iter()
                .take(data.len().saturating_sub(1)),
        );
    }
    out
}

impl Browser {
    /// Runs `script` (WebDriver "execute sync", outside the page's CSP) with
    /// `args`; its return value.
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(&json!({ "script": script, "args": args })),
        )
    }

    /// Sets the window size (a tablet: 800×1100).
    pub fn resize(&self, width: u32, height: u32) {
        self.call(
            "POST",
            "/window/rect",
            Some(&json!({ "width": width, "height": height })),
        );
    }
}
