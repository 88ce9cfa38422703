//! Robustness: the upload path's decoders, fed arbitrary bytes and damaged
//! valid images (PNG, JPEG, GIF, WebP), never panic, refuse with typed
//! errors, and what an upload stores passes the check a fetching node runs.
//! The checks are those of the `cargo fuzz` targets `media_upload`,
//! `media_inspect` and `media_wire` (`fuzz/src/media.rs`, included here),
//! so CI runs the same harness the fuzzer does. `PROPTEST_CASES` runs more
//! cases.

#[path = "../../../../fuzz/src/media.rs"]
#[allow(unreachable_pub, dead_code)]
mod harness;

use accord_media::image::{DynamicImage, ImageBuffer, ImageFormat, Rgb, RgbImage};
use proptest::prelude::*;
use std::io::Cursor;

/// Small valid images of every format an upload may be, made here.
fn seeds() -> Vec<Vec<u8>> {
    let img: RgbImage = ImageBuffer::from_fn(24, 16, |x, y| Rgb([(x * 10) as u8, (y * 15) as u8, 128]));
    [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Gif, ImageFormat::WebP]
        .into_iter()
        .map(|format| {
            let mut out = Cursor::new(Vec::new());
            DynamicImage::ImageRgb8(img.clone()).write_to(&mut out, format).expect("encode");
            out.into_inner()
        })
        .collect()
}

/// One way of damaging a valid image.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Truncate(prop::sample::Index),
    Append(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Delete),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        prop::collection::vec(any::<u8>(), 1..16).prop_map(Mutation::Append),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        match m {
            Mutation::Replace(i, b) => {
                let at = i.index(bytes.len());
                bytes[at] = *b;
            }
            Mutation::Insert(i, b) => bytes.insert(i.index(bytes.len()), *b),
            Mutation::Delete(i) => {
                bytes.remove(i.index(bytes.len()));
            }
            Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len())),
            Mutation::Append(tail) => bytes.extend(tail),
        }
    }
    bytes
}

#[test]
fn every_valid_seed_is_accepted_and_survives_the_round_trip() {
    for seed in seeds() {
        let prepared = accord_media::prepare_upload(&seed, &harness::limits()).expect("a valid image");
        assert!(prepared.media_type.is_image());
        harness::all_media(&seed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn damaged_images_never_panic(seed in 0usize..4, mutations in prop::collection::vec(mutation(), 1..4)) {
        let bytes = apply(seeds()[seed].clone(), &mutations);
        harness::all_media(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        harness::all_media(&bytes);
    }
}
