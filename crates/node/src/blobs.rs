//! Content-addressed storage for prompts and results: a body is stored under its blake3
//! hash, in the data directory (`blobs/ab/cdef…`, written to a temporary file, synced and
//! renamed) or in memory. Putting the same body twice is a no-op. [`BlobService`] is the
//! node's face of it, with the size limit.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use comqute_qpi::Hash32;

use crate::error::ServiceError;

/// Where blobs live.
pub enum BlobStore {
    /// Files under a directory.
    Dir(PathBuf),
    /// In memory (nodes without a data directory).
    Memory(Mutex<BTreeMap<Hash32, Vec<u8>>>),
}

fn io(e: std::io::Error) -> ServiceError {
    ServiceError::Internal(format!("blob store: {e}"))
}

impl BlobStore {
    fn path(dir: &std::path::Path, h: &Hash32) -> PathBuf {
        let hex = h.to_hex();
        dir.join(&hex[..2]).join(&hex[2..])
    }

    /// Stores `body`; returns its hash.
    pub fn put(&self, body: &[u8]) -> Result<Hash32, ServiceError> {
        let h = Hash32::of(body);
        match self {
            BlobStore::Memory(m) => {
                m.lock()
                    .map_err(|_| ServiceError::poisoned("blob store"))?
                    .entry(h)
                    .or_insert_with(|| body.to_vec());
            }
            BlobStore::Dir(dir) => {
                let path = Self::path(dir, &h);
                if path.exists() {
                    return Ok(h);
                }
                let parent = path.parent().expect("a blob path has a parent directory");
                std::fs::create_dir_all(parent).map_err(io)?;
                let tmp = parent.join(format!(".tmp-{}-{}", std::process::id(), &h.to_hex()[..16]));
                {
                    use std::io::Write;
                    let mut f = std::fs::File::create(&tmp).map_err(io)?;
                    f.write_all(body).map_err(io)?;
                    f.sync_all().map_err(io)?;
                }
                std::fs::rename(&tmp, &path).map_err(io)?;
            }
        }
        Ok(h)
    }

    /// The blob with this hash, checked against it.
    pub fn get(&self, h: &Hash32) -> Result<Option<Vec<u8>>, ServiceError> {
        let body = match self {
            BlobStore::Memory(m) => m
                .lock()
                .map_err(|_| ServiceError::poisoned("blob store"))?
                .get(h)
                .cloned(),
            BlobStore::Dir(dir) => match std::fs::read(Self::path(dir, h)) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(io(e)),
            },
        };
        match body {
            Some(b) if Hash32::of(&b) != *h => Err(ServiceError::Internal(format!(
                "blob {h} is corrupt on disk"
            ))),
            other => Ok(other),
        }
    }
}

/// The blob store with the node's size limit.
pub struct BlobService {
    store: BlobStore,
    max_bytes: usize,
}

impl BlobService {
    /// Blobs of at most `max_bytes` in `store`.
    pub fn new(store: BlobStore, max_bytes: usize) -> BlobService {
        BlobService { store, max_bytes }
    }

    /// The largest blob taken.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Stores `body` (413 `body_too_large` over the limit); returns its hash. Writes a file
    /// on a durable node: call it off the async workers.
    pub fn put(&self, body: &[u8]) -> Result<Hash32, ServiceError> {
        if body.len() > self.max_bytes {
            return Err(ServiceError::TooLarge {
                size: body.len(),
                limit: self.max_bytes,
            });
        }
        self.store.put(body)
    }

    /// The blob with this hash, checked against it (`None`: not stored).
    pub fn get(&self, h: &Hash32) -> Result<Option<Vec<u8>>, ServiceError> {
        self.store.get(h)
    }
}
