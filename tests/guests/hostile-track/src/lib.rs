//! Test guest: a log importer for WIT track 0.9.0, built with wit-bindgen directly (the SDK only
//! speaks the host's track). The host must refuse it at load, naming both tracks.

wit_bindgen::generate!({
    path: "wit",
    world: "importer",
});

struct Future;

impl exports::tally::plugin::log_importer::Guest for Future {
    fn describe() -> String {
        "hostile-track".into()
    }

    fn feed(chunk: Vec<u8>) -> u64 {
        chunk.len() as u64
    }
}

export!(Future);
