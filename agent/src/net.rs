//! HTTPS client to the collector: the agent's only network edge. One TLS 1.3
//! connection per request (rustls, ring provider), the collector verified
//! against the configured CA bundle and/or a pinned certificate digest,
//! optional client certificate (mTLS), one deadline over connect, handshake,
//! request and response, and a response body cap.

use crate::config;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use std::time::Duration;

/// Largest collector response read.
const MAX_RESPONSE: usize = 1024 * 1024;

pub struct Client {
    tls: Arc<rustls::ClientConfig>,
    host: String,
    port: u16,
    name: ServerName<'static>,
    timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    /// The collector's `error` text, or the body.
    pub fn reason(&self) -> String {
        self.json()["error"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&self.body)
                    .chars()
                    .take(200)
                    .collect()
            })
    }
}

fn sha256(b: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, b)
        .as_ref()
        .to_vec()
}

/// Verifies the collector's certificate by its SHA-256 (and by the CA chain
/// too when a CA bundle is configured as well).
#[derive(Debug)]
struct Pinned {
    pin: Vec<u8>,
    chain: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    algs: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(c) = &self.chain {
            c.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?;
        }
        if sha256(end_entity.as_ref()) == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "collector certificate does not match pin_sha256".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.2 is not offered".into()))
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

impl Client {
    /// Builds the TLS configuration from the collector section (reads the
    /// CA bundle and client certificate files).
    pub fn new(c: &config::Collector) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| e.to_string())?;
        let chain = match &c.ca_file {
            None => None,
            Some(p) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in
                    CertificateDer::pem_file_iter(p).map_err(|e| format!("{}: {e}", p.display()))?
                {
                    let cert = cert.map_err(|e| format!("{}: {e}", p.display()))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("{}: {e}", p.display()))?;
                }
                if roots.is_empty() {
                    return Err(format!("{}: no certificate", p.display()));
                }
                Some(
                    rustls::client::WebPkiServerVerifier::builder_with_provider(
                        Arc::new(roots),
                        provider.clone(),
                    )
                    .build()
                    .map_err(|e| format!("{}: {e}", p.display()))?,
                )
            }
        };
        let builder = match (&c.pin_sha256, chain) {
            (Some(pin), chain) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Pinned {
                    pin: pin.clone(),
                    chain,
                    algs: provider.signature_verification_algorithms,
                })),
            (None, Some(v)) => builder.with_webpki_verifier(v),
            (None, None) => return Err("collector: no ca_file and no pin_sha256".into()),
        };
        let tls = match (&c.client_cert, &c.client_key) {
            (Some(cp), Some(kp)) => {
                let certs = CertificateDer::pem_file_iter(cp)
                    .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| format!("{}: {e}", cp.display()))?;
                let key = PrivateKeyDer::from_pem_file(kp)
                    .map_err(|e| format!("{}: {e}", kp.display()))?;
                builder
                    .with_client_auth_cert(certs, key)
                    .map_err(|e| format!("{}: {e}", cp.display()))?
            }
            _ => builder.with_no_client_auth(),
        };
        let name = ServerName::try_from(c.host.clone())
            .map_err(|e| format!("collector.url: host {:?}: {e}", c.host))?;
        Ok(Client {
            tls: Arc::new(tls),
            host: c.host.clone(),
            port: c.port,
            name,
            timeout: c.timeout,
        })
    }

    /// One HTTPS request; `Err` for network, TLS or timeout failures.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Response, String> {
        let work = async {
            let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| format!("connect {}:{}: {e}", self.host, self.port))?;
            let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(self.name.clone(), tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            let (mut send, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                    .await
                    .map_err(|e| format!("HTTP: {e}"))?;
            let driver = tokio::spawn(conn);
            let mut req = hyper::Request::builder()
                .method(method)
                .uri(path)
                .header("host", &self.host);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let req = req
                .body(Full::new(Bytes::from(body)))
                .map_err(|e| format!("request: {e}"))?;
            let resp = send
                .send_request(req)
                .await
                .map_err(|e| format!("HTTP: {e}"))?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| format!("response body: {e}"))?
                .to_bytes()
                .to_vec();
            drop(send);
            driver.abort();
            Ok(Response { status, body })
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| format!("no answer within {:?}", self.timeout))?
    }

    /// `POST /attestation/v1/sessions` → (session id, nonce).
    pub async fn session(&self) -> Result<(String, Vec<u8>), String> {
        let r = self
            .request("POST", "/attestation/v1/sessions", &[], Vec::new())
            .await?;
        if r.status != 201 {
            return Err(format!("session: HTTP {}: {}", r.status, r.reason()));
        }
        let v = r.json();
        let id = v["id"].as_str().unwrap_or_default().to_string();
        let nonce = v["nonce"]
            .as_str()
            .and_then(crate::unhex)
            .filter(|n| (8..=64).contains(&n.len()));
        match nonce {
            Some(n)
                if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
            {
                Ok((id, n))
            }
            _ => Err("session: malformed answer".into()),
        }
    }
}
