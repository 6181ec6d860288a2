//! Catálogo's photos of branches and barbers: an upload is decoded (JPEG, PNG or WebP,
//! whatever its name says), refused when it is not an image or too big, scaled down to fit
//! the pages and re-encoded as JPEG (which also drops its metadata, GPS position included),
//! then stored with its audit entry. Only the owner uploads.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

use super::{Actor, App, AppError};
use crate::domain::DomainError;
use crate::store::photos::{self, Owner};
use crate::store::{audit, catalog};

/// The largest upload accepted, in bytes (the admin's route admits this much).
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;
/// The largest side of an image accepted for decoding (a small file can claim a huge size).
const MAX_SIDE: u32 = 10_000;
/// The longest side a stored photo keeps: a branch's fills a phone's width twice over; a
/// barber's is a portrait.
const BRANCH_SIDE: u32 = 1280;
const BARBER_SIDE: u32 = 480;
const JPEG_QUALITY: u8 = 82;

/// Why an upload was refused, said to the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoRefused {
    Empty,
    TooLarge,
    NotAnImage,
    TooManyPixels,
}

impl PhotoRefused {
    pub fn message_es(&self) -> String {
        match self {
            Self::Empty => "Elegí una foto para subir.".into(),
            Self::TooLarge => format!(
                "La foto es demasiado grande: subí una de hasta {} MB.",
                MAX_UPLOAD_BYTES / (1024 * 1024)
            ),
            Self::NotAnImage => {
                "El archivo no es una foto: subí una imagen JPEG, PNG o WebP.".into()
            }
            Self::TooManyPixels => {
                format!("La foto es demasiado grande: hasta {MAX_SIDE} píxeles de lado.")
            }
        }
    }
}

/// Decodes, scales down to `side` and re-encodes `bytes` as JPEG.
pub fn prepare(bytes: &[u8], side: u32) -> Result<Vec<u8>, PhotoRefused> {
    if bytes.is_empty() {
        return Err(PhotoRefused::Empty);
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(PhotoRefused::TooLarge);
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| PhotoRefused::NotAnImage)?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) => {}
        _ => return Err(PhotoRefused::NotAnImage),
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => PhotoRefused::TooManyPixels,
        _ => PhotoRefused::NotAnImage,
    })?;
    let image = if image.width() > side || image.height() > side {
        image.resize(side, side, image::imageops::FilterType::Triangle)
    } else {
        image
    };
    let rgb = image.to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(|_| PhotoRefused::NotAnImage)?;
    Ok(out)
}

/// Adds a photo of a branch, or replaces a barber's portrait; `Ok(Err(_))` says why the
/// file was refused. Audited as `photo.create` on the branch or barber.
pub async fn add(
    app: &App,
    actor: &Actor,
    owner: Owner,
    bytes: Vec<u8>,
) -> Result<Result<u64, PhotoRefused>, AppError> {
    if actor.staff().is_some_and(|s| !s.role.is_owner()) {
        return Err(AppError::Forbidden);
    }
    let side = match owner {
        Owner::Branch(_) => BRANCH_SIDE,
        Owner::Barber(_) => BARBER_SIDE,
    };
    // Decoding and scaling take a while: off the async workers, never inside the writer.
    let prepared = tokio::task::spawn_blocking(move || prepare(&bytes, side))
        .await
        .map_err(|e| {
            AppError::Store(crate::store::StoreError::io(
                "preparing a photo",
                std::io::Error::other(e),
            ))
        })?;
    let jpeg = match prepared {
        Ok(jpeg) => jpeg,
        Err(refused) => return Ok(Err(refused)),
    };
    let now = app.clock.now();
    let actor = actor.clone();
    let id = app
        .store
        .write(move |txn| {
            let (entity, of) = match owner {
                Owner::Branch(id) => {
                    catalog::branch(txn, id)?.ok_or(DomainError::UnknownBranch)?;
                    ("branch", id.0)
                }
                Owner::Barber(id) => {
                    catalog::barber(txn, id)?.ok_or(DomainError::UnknownBarber(id.0))?;
                    ("barber", id.0)
                }
            };
            // A barber has one portrait: the new one replaces what was there.
            if let Owner::Barber(_) = owner {
                for old in photos::of(txn, owner)? {
                    photos::remove(txn, owner, old)?;
                }
            }
            let id = photos::add(txn, owner, &jpeg)?;
            audit::record(txn, actor.change("photo.create", entity, Some(of)), now)?;
            Ok(id)
        })
        .await?;
    Ok(Ok(id))
}

/// Removes photo `id` of `owner`; whether there was one. Audited as `photo.delete`.
pub async fn remove(app: &App, actor: &Actor, owner: Owner, id: u64) -> Result<bool, AppError> {
    if actor.staff().is_some_and(|s| !s.role.is_owner()) {
        return Err(AppError::Forbidden);
    }
    let now = app.clock.now();
    let actor = actor.clone();
    let removed = app
        .store
        .write(move |txn| {
            let (entity, of) = match owner {
                Owner::Branch(b) => ("branch", b.0),
                Owner::Barber(b) => ("barber", b.0),
            };
            let removed = photos::remove(txn, owner, id)?;
            if removed {
                audit::record(txn, actor.change("photo.delete", entity, Some(of)), now)?;
            }
            Ok(removed)
        })
        .await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 30, 30]));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn photos_are_scaled_down_and_become_jpeg() {
        let jpeg = prepare(&png(2000, 1000), BRANCH_SIDE).unwrap();
        let back = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((back.width(), back.height()), (1280, 640));
        assert_eq!(image::guess_format(&jpeg).unwrap(), ImageFormat::Jpeg);
        let small = prepare(&png(300, 200), BRANCH_SIDE).unwrap();
        let back = image::load_from_memory(&small).unwrap();
        assert_eq!((back.width(), back.height()), (300, 200), "never scaled up");
    }

    #[test]
    fn what_is_not_a_photo_is_refused_in_spanish() {
        assert_eq!(prepare(b"", 100), Err(PhotoRefused::Empty));
        assert_eq!(
            prepare(b"%PDF-1.7 not a photo", 100),
            Err(PhotoRefused::NotAnImage)
        );
        let mut truncated = png(50, 50);
        truncated.truncate(40);
        assert_eq!(prepare(&truncated, 100), Err(PhotoRefused::NotAnImage));
        assert_eq!(
            prepare(&vec![0xFF; MAX_UPLOAD_BYTES + 1], 100),
            Err(PhotoRefused::TooLarge)
        );
        assert!(PhotoRefused::TooLarge.message_es().contains("hasta 8 MB"));
    }
}
