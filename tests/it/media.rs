//! Media across real nodes (spec/client-api.md §10, spec/federation.md
//! §10): a member uploads a photo and sends it; the other nodes fetch it
//! from the origin, verify its hash and serve their members the same
//! bytes, without the photo's GPS position.

use crate::federation::room_across;
use accord_media::image::codecs::jpeg::JpegEncoder;
use accord_media::image::{ImageBuffer, Rgb};
use accord_proto::Sha256Hash;
use accord_sdk::{Client, EventContent, HistoryQuery, MediaType};
use accord_testkit::TestNet;
use std::time::Duration;

/// How long a test waits for the network to deliver or fetch.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);

/// The GPS latitude written into test photos: 48° 51' 29.88" as three
/// rationals; its bytes must not survive an upload.
pub(crate) const GPS_LATITUDE: [u32; 6] = [48, 1, 51, 1, 2988, 100];

/// A JPEG photo of `width`×`height` (a smooth gradient with a bright
/// square), made here.
pub(crate) fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = ImageBuffer::from_fn(width, height, |x, y| {
        let square = (width / 4..width / 2).contains(&x) && (height / 4..height / 2).contains(&y);
        if square { Rgb([250, 240, 20]) } else { Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 90]) }
    });
    let mut out = Vec::new();
    img.write_with_encoder(JpegEncoder::new_with_quality(&mut out, 85)).expect("encode");
    out
}

/// An EXIF APP1 segment (little-endian TIFF) whose IFD0 points to a GPS
/// IFD holding `GPSLatitudeRef = "N"` and [`GPS_LATITUDE`].
pub(crate) fn exif_gps_segment() -> Vec<u8> {
    let mut tiff: Vec<u8> = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    // IFD0 at 8: one entry, GPSInfo (0x8825, LONG) → the GPS IFD at 26.
    tiff.extend(1u16.to_le_bytes());
    tiff.extend([0x25, 0x88, 4, 0]);
    tiff.extend(1u32.to_le_bytes());
    tiff.extend(26u32.to_le_bytes());
    tiff.extend(0u32.to_le_bytes());
    // GPS IFD at 26: LatitudeRef (ASCII "N"), Latitude (3 RATIONAL at 56).
    tiff.extend(2u16.to_le_bytes());
    tiff.extend([1, 0, 2, 0]);
    tiff.extend(2u32.to_le_bytes());
    tiff.extend(*b"N\0\0\0");
    tiff.extend([2, 0, 5, 0]);
    tiff.extend(3u32.to_le_bytes());
    tiff.extend(56u32.to_le_bytes());
    tiff.extend(0u32.to_le_bytes());
    for v in GPS_LATITUDE {
        tiff.extend(v.to_le_bytes());
    }
    let mut segment = vec![0xFF, 0xE1];
    segment.extend(((2 + 6 + tiff.len()) as u16).to_be_bytes());
    segment.extend(b"Exif\0\0");
    segment.extend(tiff);
    segment
}

/// A JPEG photo carrying an EXIF GPS position, as a phone writes it.
pub(crate) fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let plain = jpeg(width, height);
    let mut out = plain[..2].to_vec();
    out.extend(exif_gps_segment());
    out.extend(&plain[2..]);
    out
}

/// The bytes of the GPS latitude as the EXIF block stores them.
fn gps_bytes() -> Vec<u8> {
    GPS_LATITUDE.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Fetches `hash` from `client`'s node until it holds it.
pub(crate) async fn fetch_when_held(client: &Client, hash: &Sha256Hash) -> Vec<u8> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match client.fetch_media(hash).await {
            Ok(bytes) => return bytes,
            Err(e) if e.code() == "unknown_media" && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{} never served {hash}: {e}", client.node_url()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_photo_sent_on_one_node_is_fetched_verified_and_served_by_the_others_without_its_gps_position() {
    let _machine = crate::shared().await;
    let net = TestNet::start(3).await.unwrap();
    let (clients, rooms) = room_across(&net).await;

    // Arrange: a phone's photo, with its position in EXIF.
    let photo = jpeg_with_gps(640, 480);
    assert!(contains(&photo, b"Exif\0\0") && contains(&photo, &gps_bytes()), "the test photo carries a GPS position");

    // Act: upload it on node 0 and send it.
    let uploaded = clients[0].upload_media(photo.clone()).await.unwrap();
    assert_eq!(
        (uploaded.media_type, uploaded.width, uploaded.height),
        (MediaType::Jpeg, Some(640), Some(480)),
        "type and dimensions come from the decoded bytes"
    );
    assert_ne!(uploaded.hash, Sha256Hash::digest(&photo), "the stored bytes are re-encoded");
    assert!(uploaded.thumbnail.is_some(), "an image gets a thumbnail");
    rooms[0].send_with_attachments("the harbour at dawn", vec![uploaded.attachment()]).await.unwrap();
    let served_at_origin = clients[0].fetch_media(&uploaded.hash).await.unwrap();
    assert_eq!(served_at_origin.len() as u64, uploaded.size);

    // Assert: every node delivers the message with its attachment, then
    // serves the same bytes, which hash to the attachment and carry no GPS.
    for (client, room) in clients.iter().zip(&rooms).skip(1) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let attachments = loop {
            let page = room.history(HistoryQuery::after(0).limit(100)).await.unwrap();
            let found = page.items.into_iter().map(|i| i.expect("verified")).find_map(|i| match i.event.content() {
                EventContent::Message { attachments, .. } if !attachments.is_empty() => Some(attachments.clone()),
                _ => None,
            });
            match found {
                Some(a) => break a,
                None if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
                None => panic!("{} never delivered the photo message", client.node_url()),
            }
        };
        assert_eq!(attachments, vec![uploaded.attachment()], "the event names the attachment byte for byte");
        let bytes = fetch_when_held(client, &uploaded.hash).await;
        assert_eq!(Sha256Hash::digest(&bytes), uploaded.hash);
        assert_eq!(bytes, served_at_origin, "the same bytes on every node");
        assert!(!contains(&bytes, b"Exif") && !contains(&bytes, &gps_bytes()), "no EXIF, no GPS position");
        let thumb = client.fetch_thumbnail(&uploaded.hash).await.unwrap();
        let decoded = accord_media::image::load_from_memory(&thumb).expect("the thumbnail decodes");
        assert_eq!((decoded.width(), decoded.height()), (320, 240), "a thumbnail made by the node itself");
    }
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_file_of_several_chunks_is_fetched_by_another_node_and_served_byte_for_byte() {
    let _machine = crate::shared().await;
    let net = TestNet::start(2).await.unwrap();
    let (clients, rooms) = room_across(&net).await;

    // Arrange: a 700 KiB file that is no image: three chunks of 256 KiB,
    // the last one short; every byte depends on its position.
    let file: Vec<u8> =
        (0..700 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 ^ (i >> 16) as u8).collect();
    assert!(file.len() > 2 * 262_144 && file.len() < 3 * 262_144);

    // Act: a member of node 0 uploads and sends it.
    let uploaded = clients[0].upload_media(file.clone()).await.unwrap();
    assert_eq!((uploaded.hash, uploaded.size), (Sha256Hash::digest(&file), file.len() as u64), "stored as sent");
    assert!(!uploaded.media_type.is_image());
    rooms[0].send_with_attachments("the archive", vec![uploaded.attachment()]).await.unwrap();

    // Assert: node 1 fetches it from the origin and serves the same bytes.
    let fetched = fetch_when_held(&clients[1], &uploaded.hash).await;
    assert_eq!(fetched.len(), file.len());
    assert!(fetched == file, "node 1 serves the file byte for byte");
    net.stop().await.unwrap();
}
