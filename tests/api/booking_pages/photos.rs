//! Catálogo's photos: the owner uploads a branch's photo and a barber's portrait (multipart,
//! CSRF in the form); they are scaled down, shown on the branch's booking page with its
//! hours and barbers, and served with caching headers. Non-images and huge files are refused
//! with a Spanish message.

use std::io::Cursor;

use reqwest::multipart::{Form, Part};

use super::*;
use crate::admin::owner_app;

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

fn upload(csrf: &str, name: &str, bytes: Vec<u8>, mime: &str) -> Form {
    Form::new().text("csrf", csrf.to_owned()).part(
        "photo",
        Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str(mime)
            .expect("mime"),
    )
}

#[tokio::test]
async fn uploads_are_scaled_shown_on_the_branch_page_and_cached() {
    let (app, mut b) = owner_app().await;
    let catalog = b.get("/admin/catalogo").await;
    let csrf = catalog.csrf();
    b.post_multipart(
        "/admin/catalogo/sucursales/1/fotos",
        upload(&csrf, "local.png", png(2400, 1600), "image/png"),
    )
    .await
    .expect_redirect("/admin/catalogo");
    let after = b.get("/admin/catalogo").await;
    assert!(after.body.contains("Foto cargada."), "{}", after.body);
    b.post_multipart(
        "/admin/catalogo/barberos/1/foto",
        upload(&csrf, "martin.png", png(900, 900), "image/png"),
    )
    .await
    .expect_redirect("/admin/catalogo");

    // A second portrait replaces the first: one photo per barber is kept.
    b.post_multipart(
        "/admin/catalogo/barberos/1/foto",
        upload(&csrf, "martin2.png", png(600, 800), "image/png"),
    )
    .await
    .expect_redirect("/admin/catalogo");
    let portraits = app
        .store
        .read(|tx| {
            barberpro::store::photos::of(
                tx,
                barberpro::store::photos::Owner::Barber(barberpro::domain::BarberId(1)),
            )
        })
        .await
        .expect("read");
    assert_eq!(portraits, vec![3], "the new portrait replaced the old one");

    let mut client = Browser::new(&app);
    let page = client.get("/reservar/palermo").await;
    assert_html_page(&page, 200, "id=\"branch-photos\"");
    for needle in [
        "src=\"/fotos/1\"",
        "src=\"/fotos/3\"",
        "https://www.google.com/maps/search/?api=1&#38;query=BarberPro+Palermo",
        "Horarios de atención",
        "<dt>Martes</dt><dd>10:00 a 20:00</dd>",
        "<dt>Domingo</dt><dd>Cerrado</dd>",
        "Corte clásico",
        "30 min",
        "Martín",
    ] {
        assert!(
            page.body.contains(needle),
            "{needle:?} missing: {}",
            page.body
        );
    }

    let photo = app
        .client
        .get(app.url("/fotos/1"))
        .send()
        .await
        .expect("request");
    assert_eq!(photo.status(), 200);
    let header = |name: &str| {
        photo
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(header("content-type"), "image/jpeg");
    assert_eq!(
        header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(!header("etag").is_empty());
    let bytes = photo.bytes().await.expect("bytes");
    let img = image::load_from_memory(&bytes).expect("a JPEG");
    assert_eq!(
        (img.width(), img.height()),
        (1280, 853),
        "scaled down to 1280 px"
    );
    let missing = app
        .client
        .get(app.url("/fotos/99"))
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn non_images_and_huge_files_are_refused_in_spanish() {
    let (app, mut b) = owner_app().await;
    let csrf = b.get("/admin/catalogo").await.csrf();
    // A text file named like a photo.
    b.post_multipart(
        "/admin/catalogo/sucursales/1/fotos",
        upload(&csrf, "foto.jpg", b"no soy una foto".to_vec(), "image/jpeg"),
    )
    .await
    .expect_redirect("/admin/catalogo");
    let after = b.get("/admin/catalogo").await;
    assert!(
        after
            .body
            .contains("El archivo no es una foto: subí una imagen JPEG, PNG o WebP."),
        "{}",
        after.body
    );
    // Nine megabytes: refused before anything is decoded.
    let huge = b
        .post_multipart(
            "/admin/catalogo/sucursales/1/fotos",
            upload(
                &csrf,
                "enorme.png",
                vec![0x42; 9 * 1024 * 1024],
                "image/png",
            ),
        )
        .await;
    assert_eq!(huge.status.as_u16(), 400, "{}", huge.body);
    assert!(
        huge.body
            .contains("La foto es demasiado grande: subí una de hasta 8 MB."),
        "{}",
        huge.body
    );
    // Without the CSRF field the upload is refused outright.
    let forged = b
        .post_multipart(
            "/admin/catalogo/sucursales/1/fotos",
            upload("", "a.png", png(10, 10), "image/png"),
        )
        .await;
    assert_eq!(forged.status.as_u16(), 403, "{}", forged.body);
    let stored = app
        .store
        .read(|tx| {
            barberpro::store::photos::of(
                tx,
                barberpro::store::photos::Owner::Branch(barberpro::domain::BranchId(1)),
            )
        })
        .await
        .expect("read");
    assert!(stored.is_empty(), "nothing stored: {stored:?}");
}
