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
                // Stored already, and intact: nothing to do. A file that does not hash to its
                // name (a torn or tampered write) is replaced, so a PUT repairs it.
                match std::fs::read(&path) {
                    Ok(old) if Hash32::of(&old) == h => return Ok(h),
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(e)),
                }
                // Invariant: `path` is `dir/ab/cdef…`, two components below `dir`.
                let parent = path.parent().expect("a blob path has a parent directory");
                std::fs::create_dir_all(parent).map_err(io)?;
                // A temporary name of this writer's own: concurrent PUTs of one body each
                // write their own file, and the renames (atomic) leave one whole copy.
                static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let tmp = parent.join(format!(
                    ".tmp-{}-{n}-{}",
                    std::process::id(),
                    &h.to_hex()[..16]
                ));
                let written = (|| {
                    use std::io::Write;
                    let mut f = std::fs::File::create(&tmp)?;
                    f.write_all(body)?;
                    f.sync_all()?;
                    std::fs::rename(&tmp, &path)
                })();
                if let Err(e) = written {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(io(e));
                }
            }
        }
        Ok(h)
    }

    /// Whether a blob with this hash is stored (not checked: a PUT repairs a damaged one).
    pub fn contains(&self, h: &Hash32) -> Result<bool, ServiceError> {
        match self {
            BlobStore::Memory(m) => Ok(m
                .lock()
                .map_err(|_| ServiceError::poisoned("blob store"))?
                .contains_key(h)),
            BlobStore::Dir(dir) => Ok(Self::path(dir, h).is_file()),
        }
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

/// The blob store with the node's size limit and quotas.
pub struct BlobService {
    store: BlobStore,
    max_bytes: usize,
    quota: crate::limits::BlobQuota,
}

impl BlobService {
    /// Blobs of at most `max_bytes` in `store`, no quotas.
    pub fn new(store: BlobStore, max_bytes: usize) -> BlobService {
        BlobService {
            store,
            max_bytes,
            quota: crate::limits::BlobQuota::new(0, 0),
        }
    }

    /// The quotas.
    pub fn quota(&self) -> &crate::limits::BlobQuota {
        &self.quota
    }

    /// With these quotas on new bytes stored.
    pub fn with_quota(mut self, quota: crate::limits::BlobQuota) -> BlobService {
        self.quota = quota;
        self
    }

    /// Stores `body` for `who` (`None`: in-process, not counted): the size limit (413),
    /// then, unless it is stored already, `who`'s quota (429 `blob_quota`).
    pub fn put_for(
        &self,
        body: &[u8],
        who: Option<crate::limits::Uploader>,
    ) -> Result<Hash32, ServiceError> {
        if body.len() > self.max_bytes {
            return Err(ServiceError::TooLarge {
                size: body.len(),
                limit: self.max_bytes,
            });
        }
        if let Some(who) = who {
            if !self.store.contains(&Hash32::of(body))? {
                self.quota.charge(who, body.len())?;
            }
        }
        self.store.put(body)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("comqute-blobs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// Eight writers of one body and readers in between: every PUT and GET answers, no GET
    /// sees a torn file, and no temporary file is left behind.
    #[test]
    fn concurrent_puts_of_one_body_all_succeed_and_reads_see_it_whole() {
        let d = dir("race");
        let store = std::sync::Arc::new(BlobStore::Dir(d.clone()));
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let h = Hash32::of(&body);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (store, body) = (store.clone(), body.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        assert_eq!(store.put(&body).unwrap(), h);
                        match store.get(&h).unwrap() {
                            Some(b) => assert_eq!(b, body),
                            None => panic!("stored, then missing"),
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let hex = h.to_hex();
        let left: Vec<_> = std::fs::read_dir(d.join(&hex[..2]))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "{left:?}");
        let _ = std::fs::remove_dir_all(&d);
    }

    /// A blob corrupted on disk is reported as such, and the next PUT of its body repairs it.
    #[test]
    fn a_put_repairs_a_blob_corrupted_on_disk() {
        let d = dir("repair");
        let store = BlobStore::Dir(d.clone());
        let h = store.put(b"the prompt").unwrap();
        let hex = h.to_hex();
        std::fs::write(d.join(&hex[..2]).join(&hex[2..]), b"the prompX").unwrap();
        let e = store.get(&h).unwrap_err();
        assert!(e.to_string().contains("corrupt"), "{e}");
        assert_eq!(store.put(b"the prompt").unwrap(), h);
        assert_eq!(store.get(&h).unwrap().as_deref(), Some(&b"the prompt"[..]));
        let _ = std::fs::remove_dir_all(&d);
    }
}
