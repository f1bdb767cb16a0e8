//! Simulated devices for the load benchmark (`examples/load.rs`) and the
//! replica test (`tests/replicas.rs`): P-256 keys enrolled and approved
//! directly in a store, attestation tokens of a realistic size (120
//! packages, 67 rule results) signed with them, and a TLS 1.3 client that
//! posts a body to a collector on loopback.

#![allow(dead_code)] // each includer uses its part

use fieldattest_collector::store::Store;
use fieldattest_protocol::eat::{self, Claims, SwId};
use fieldattest_protocol::token::{self, PublicKey};
use http_body_util::{BodyExt, Full};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use std::sync::Arc;

/// The claims of a simulated device's attestation.
pub fn claims(ueid: &[u8], seq: u64, cti: u64, nonce: Option<Vec<u8>>) -> Claims {
    let measurements = (0..120)
        .map(|i| {
            (
                eat::CF_COSWID,
                fieldattest_protocol::cbor::to_vec(&ciborium::value::Value::Map(vec![(
                    ciborium::value::Value::Integer(0.into()),
                    ciborium::value::Value::Text(format!(
                        "pkg:deb/debian/package-{i}@1.{i}.0-1?arch=arm64&distro=debian-12"
                    )),
                )])),
            )
        })
        .collect();
    let results = (0..67)
        .map(|i| (format!("rule.number-{i}"), if i % 5 == 0 { 2 } else { 1 }))
        .collect();
    Claims {
        iat: 1_800_000_000,
        cti: cti.to_be_bytes().to_vec(),
        ueid: ueid.to_vec(),
        intuse: 1,
        nonce,
        sw: Some(SwId {
            name: "Debian GNU/Linux".into(),
            version: "12".into(),
            scheme: 1,
        }),
        measurements,
        measres: vec![(
            "tag:fieldattest.org,2026:catalog/ccsc@0.1.0".into(),
            results,
        )],
        seq,
        key_tier: 3,
        sl_ceiling: vec![("FR1".into(), 1), ("FR2".into(), 2)],
        ..Default::default()
    }
}

/// A simulated device: its key, UEID and id in the store.
pub struct Device {
    pub id: i64,
    pub ueid: Vec<u8>,
    key: EcdsaKeyPair,
    kid: Vec<u8>,
}

impl Device {
    /// Device `n`, enrolled and approved in `store`.
    pub fn enroll(store: &dyn Store, n: u64) -> Device {
        let rng = SystemRandom::new();
        let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p8.as_ref(), &rng).unwrap();
        let pk = PublicKey(key.public_key().as_ref().to_vec());
        let mut ueid = vec![1u8];
        ueid.extend(n.to_be_bytes());
        ueid.extend([7u8; 24]);
        let id = store
            .insert_device(&pk.kid(), &ueid, &pk.0, "load", 0)
            .unwrap();
        store.set_status(id, "active").unwrap();
        Device {
            id,
            ueid,
            key,
            kid: pk.kid(),
        }
    }

    /// A signed token: sequence number `seq`, `cti` unique per device and seq.
    pub fn token(&self, seq: u64, nonce: Option<Vec<u8>>) -> Vec<u8> {
        let rng = SystemRandom::new();
        let cti = (self.id as u64) << 32 | seq;
        token::sign(&claims(&self.ueid, seq, cti, nonce), &self.kid, |tbs| {
            self.key
                .sign(&rng, tbs)
                .map(|x| x.as_ref().to_vec())
                .map_err(|_| ())
        })
        .unwrap()
    }
}

/// A client TLS 1.3 configuration trusting `ca` (DER).
pub fn tls(ca: &[u8]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.to_vec().into()).unwrap();
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// An HTTP/1.1 connection over TLS to 127.0.0.1:`port` from 127.0.0.1.
pub async fn connect(
    tls: Arc<rustls::ClientConfig>,
    port: u16,
) -> std::io::Result<hyper::client::conn::http1::SendRequest<Full<bytes::Bytes>>> {
    connect_from(tls, [127, 0, 0, 1], port).await
}

/// [`connect`] from a chosen loopback address (each simulated device its
/// own, as real devices have: the collector's limits are per address).
pub async fn connect_from(
    tls: Arc<rustls::ClientConfig>,
    from: [u8; 4],
    port: u16,
) -> std::io::Result<hyper::client::conn::http1::SendRequest<Full<bytes::Bytes>>> {
    let sock = tokio::net::TcpSocket::new_v4()?;
    sock.bind((std::net::Ipv4Addr::from(from), 0).into())?;
    let tcp = sock
        .connect((std::net::Ipv4Addr::LOCALHOST, port).into())
        .await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await?;
    let (send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    Ok(send)
}

/// POSTs `body` (`media`: its content type; `None`, none) to `path` on a
/// connection; the status and the answer's body.
pub async fn post(
    send: &mut hyper::client::conn::http1::SendRequest<Full<bytes::Bytes>>,
    path: &str,
    media: Option<&str>,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    request(send, "POST", path, media, body).await
}

/// [`post`] with any method.
pub async fn request(
    send: &mut hyper::client::conn::http1::SendRequest<Full<bytes::Bytes>>,
    method: &str,
    path: &str,
    media: Option<&str>,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost");
    if let Some(m) = media {
        req = req.header("content-type", m);
    }
    let req = req.body(Full::new(bytes::Bytes::from(body))).unwrap();
    let resp = send.send_request(req).await.map_err(|e| format!("{e:?}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes()
        .to_vec();
    Ok((status, body))
}
