//! A TCP proxy in front of a real server that can be cut: while it is down, connections in
//! flight are dropped mid-request or mid-response and new ones are closed at once, as when the
//! network to DynamoDB fails. The server itself keeps its state.
//!
//! It also passes one connection at a time (moto answers one request per connection). moto
//! runs requests on threads without isolating them: a transaction that fails restores a copy
//! of the whole table taken when it began, undoing what other requests wrote meanwhile.
//! DynamoDB serializes transactions; one request at a time gives moto that property back, while
//! the clients still interleave their reads and transactions freely.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    pub address: SocketAddr,
    up: Arc<watch::Sender<bool>>,
}

impl Proxy {
    /// Forwards 127.0.0.1:<port> to `target`, on a thread of its own.
    pub fn start(target: SocketAddr) -> Self {
        let (up, _) = watch::channel(true);
        let up = Arc::new(up);
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let state = up.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
                let one_at_a_time = Arc::new(tokio::sync::Mutex::new(()));
                address_tx
                    .send(listener.local_addr().expect("an address"))
                    .expect("the test waits");
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    if !*state.borrow() {
                        drop(client);
                        continue;
                    }
                    let mut down = state.subscribe();
                    let one_at_a_time = one_at_a_time.clone();
                    tokio::spawn(async move {
                        let _turn = one_at_a_time.lock().await;
                        let Ok(mut server) = TcpStream::connect(target).await else {
                            return;
                        };
                        let mut client = client;
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = down.wait_for(|up| !*up) => {}
                        }
                    });
                }
            });
        });
        Self {
            address: address_rx.recv().expect("the proxy listens"),
            up,
        }
    }

    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}
