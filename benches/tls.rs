//! TLS probe throughput on loopback: 200 probes of one in-process rustls server with
//! concurrency 50, against a bare tokio-rustls handshake loop (verifying client, same
//! concurrency) doing the same 200 handshakes.
//!
//! `cargo bench --features tls --bench tls -- --warm-up-time 1 --measurement-time 3`
//!
//! Criterion reports each as elements (handshakes) per second; the difference per element is
//! the probe's cost over a bare handshake (chain parsing with x509-parser, verification at the
//! context's time, building the observation).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use nexus_readiness::probe::{Probe, ProbeContext};
use nexus_readiness::probes::tls::TlsProbe;
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

const PROBES: usize = 200;
const CONCURRENCY: usize = 50;
const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p
}

/// Root, intermediate, leaf for api.test; returns (root der, root pem, chain, leaf key).
fn pki() -> (CertificateDer<'static>, String, Vec<CertificateDer<'static>>, KeyPair) {
    let root_params = ca_params("Bench Root");
    let root_key = KeyPair::generate().unwrap();
    let root = root_params.self_signed(&root_key).unwrap();
    let inter_params = ca_params("Bench Intermediate");
    let inter_key = KeyPair::generate().unwrap();
    let inter = inter_params.signed_by(&inter_key, &Issuer::from_params(&root_params, &root_key)).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["api.test".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &Issuer::from_params(&inter_params, &inter_key))
        .unwrap();
    (root.der().clone(), root.pem(), vec![leaf.der().clone(), inter.der().clone()], leaf_key)
}

async fn serve(chain: Vec<CertificateDer<'static>>, key: KeyPair) -> u16 {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind((LOCAL, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut buf = [0u8; 64];
                    let _ = tls.read(&mut buf).await;
                }
            });
        }
    });
    port
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (root, root_pem, chain, key) = pki();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("root.pem");
    std::fs::write(&ca, root_pem).unwrap();
    let port = rt.block_on(serve(chain, key));

    let probe = Arc::new(TlsProbe::builder("api.test", port).ip(LOCAL).ca_file(&ca).build().unwrap());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root).unwrap();
    let client = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let connector = tokio_rustls::TlsConnector::from(client);

    let mut g = c.benchmark_group("tls_200_endpoints_c50");
    g.throughput(Throughput::Elements(PROBES as u64));
    g.sample_size(10);
    g.bench_function("tls_probe", |b| {
        b.to_async(&rt).iter(|| {
            let probe = probe.clone();
            async move {
                let cx = ProbeContext::new();
                let n = futures_util::stream::iter(0..PROBES)
                    .map(|_| {
                        let (probe, cx) = (probe.clone(), cx.clone());
                        async move { probe.check(&cx).await.expect("probe") }
                    })
                    .buffer_unordered(CONCURRENCY)
                    .fold(0usize, |n, o| async move { n + o.measurements.len() })
                    .await;
                black_box(n)
            }
        })
    });
    g.bench_function("bare_handshake", |b| {
        b.to_async(&rt).iter(|| {
            let connector = connector.clone();
            async move {
                let n = futures_util::stream::iter(0..PROBES)
                    .map(|_| {
                        let connector = connector.clone();
                        async move {
                            let tcp = TcpStream::connect((LOCAL, port)).await.unwrap();
                            let tls = connector.connect(ServerName::try_from("api.test").unwrap(), tcp).await.unwrap();
                            tls.get_ref().1.peer_certificates().map_or(0, <[_]>::len)
                        }
                    })
                    .buffer_unordered(CONCURRENCY)
                    .fold(0usize, |n, c| async move { n + c })
                    .await;
                black_box(n)
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
