//! A deposit through the clients' pages, as a browser goes: `/` → branch → services → barber
//! → day → slot → details, the form POSTed with the fields the pages gave, redirects followed;
//! the confirmation page with the amount and the Checkout Pro link; MercadoPago's return;
//! the signed webhook; the manage page confirmed and paid.

use barberpro::store::audit;

use super::*;
use crate::fake_mercadopago::Op;
use crate::payments::{eventually, spawn_with_deposits, stored_payment};

/// Undoes askama's HTML escaping of an attribute value.
fn unescape(raw: &str) -> String {
    raw.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
}

/// The attributes of one tag (`<input type="radio" name="x" value="y" checked>`); a bare
/// attribute has an empty value.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = tag
        .trim_start_matches('<')
        .split_once(char::is_whitespace)
        .map_or("", |(_, r)| r);
    loop {
        rest = rest.trim_start();
        let end = rest
            .find(|c: char| c == '=' || c.is_whitespace() || c == '>')
            .unwrap_or(rest.len());
        let name = &rest[..end];
        if name.is_empty() {
            break;
        }
        rest = &rest[end..];
        if let Some(quoted) = rest.strip_prefix("=\"") {
            let close = quoted.find('"').expect("closing quote");
            out.push((name.to_owned(), unescape(&quoted[..close])));
            rest = &quoted[close + 1..];
        } else {
            out.push((name.to_owned(), String::new()));
        }
    }
    out
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The `href` of the link with this `id`.
fn link(body: &str, id: &str) -> String {
    let at = body
        .find(&format!(" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let open = body[..at].rfind("<a ").expect("an <a> tag");
    let close = body[at..].find('>').expect("end of tag") + at;
    let attrs = attributes(&body[open..close]);
    attr(&attrs, "href").expect("an href").to_owned()
}

/// A form as a browser would submit it: its action, and the fields it sends as they are
/// (hidden and text fields, ticked boxes), with `choose` picking the options a person ticks
/// (each must be offered by the form) and `fill` typing into text fields.
struct FormView {
    action: String,
    method: String,
    fields: Vec<(String, String)>,
    options: Vec<(String, String)>,
}

impl FormView {
    fn parse(body: &str, id: &str) -> Self {
        let at = body
            .find(&format!(" id=\"{id}\""))
            .unwrap_or_else(|| panic!("no form #{id} in {body}"));
        let open = body[..at].rfind("<form").expect("a <form> tag");
        let end = body[open..].find("</form>").expect("end of form") + open;
        let html = &body[open..end];
        let head = attributes(&html[..html.find('>').expect("end of tag")]);
        let mut fields = Vec::new();
        let mut options = Vec::new();
        for piece in html.split("<input").skip(1) {
            let tag = &piece[..piece.find('>').expect("end of input")];
            let attrs = attributes(&format!("<input{tag}"));
            let (Some(name), value) = (attr(&attrs, "name"), attr(&attrs, "value").unwrap_or(""))
            else {
                continue;
            };
            let pair = (name.to_owned(), value.to_owned());
            match attr(&attrs, "type").unwrap_or("text") {
                "checkbox" | "radio" => {
                    if attrs.iter().any(|(k, _)| k == "checked") {
                        fields.push(pair.clone());
                    }
                    options.push(pair);
                }
                _ => fields.push(pair),
            }
        }
        Self {
            action: attr(&head, "action").expect("an action").to_owned(),
            method: attr(&head, "method").unwrap_or("get").to_owned(),
            fields,
            options,
        }
    }

    /// Ticks `value` of the options named `name` (a radio replaces the previous choice).
    #[track_caller]
    fn choose(&mut self, name: &str, value: &str) -> &mut Self {
        let pair = (name.to_owned(), value.to_owned());
        assert!(
            self.options.contains(&pair),
            "{name}={value} is not offered: {:?}",
            self.options
        );
        self.fields.retain(|(k, _)| k != name);
        self.fields.push(pair);
        self
    }

    fn fill(&mut self, name: &str, value: &str) -> &mut Self {
        match self.fields.iter_mut().find(|(k, _)| k == name) {
            Some(field) => field.1 = value.to_owned(),
            None => self.fields.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// The GET target the browser goes to.
    fn url(&self) -> String {
        assert_eq!(self.method, "get", "{} is not a GET form", self.action);
        let query = serde_urlencoded::to_string(&self.fields).expect("query");
        format!("{}?{query}", self.action)
    }
}

/// Follows redirects like a browser, up to five.
async fn follow(b: &mut Browser, mut page: Page) -> Page {
    for _ in 0..5 {
        if !page.status.is_redirection() {
            return page;
        }
        page = b.get(&page.location).await;
    }
    panic!("too many redirects");
}

#[tokio::test]
async fn a_deposit_is_asked_paid_through_mercadopago_and_shown_on_the_manage_page() {
    let (app, fake) = spawn_with_deposits().await;
    let mut b = Browser::new(&app);

    // `/` → Palermo → "Corte clásico" ($ 8.000,00) → Martín → Tuesday → 10:00.
    let home = b.get("/").await;
    assert_html_page(&home, 200, "BarberPro Palermo");
    let services = b.get(&link(&home.body, "branch-palermo")).await;
    assert_html_page(&services, 200, "Corte clásico");
    let mut form = FormView::parse(&services.body, "services-form");
    form.choose("services", "1");
    let barber = b.get(&form.url()).await;
    assert_html_page(&barber, 200, "Martín");
    let mut form = FormView::parse(&barber.body, "barber-form");
    form.choose("barber", "1");
    let slots = b.get(&form.url()).await;
    assert_html_page(&slots, 200, "Elegí día y horario");
    // Monday: Martín is off, so the first day shown is already Tuesday; pick it by its link
    // anyway, as a person checking the date would.
    let tuesday = slots
        .body
        .split("<a href=\"")
        .skip(1)
        .map(|a| unescape(&a[..a.find('"').expect("quote")]))
        .find(|href| href.contains(&format!("date={TUESDAY}")))
        .expect("a link to Tuesday");
    let slots = b.get(&tuesday).await;
    assert_html_page(&slots, 200, "martes 02/03/2027");
    let mut form = FormView::parse(&slots.body, "slot-form");
    form.choose("start", &at(TUESDAY, "10:00"));
    let details = b.get(&form.url()).await;
    assert_html_page(&details, 200, "martes 02/03/2027 a las 10:00");
    assert!(
        details.body.contains(
            "id=\"deposit-notice\">Para confirmar el turno se pide una seña de $\u{a0}2.400,00, \
             por Mercado Pago"
        ),
        "the client is told about the deposit before booking: {}",
        details.body
    );

    // The details form, filled in and POSTed; the redirect followed.
    let mut form = FormView::parse(&details.body, "details-form");
    assert_eq!(form.method, "post");
    form.fill("name", "Ana Gómez")
        .fill("phone", "011 15-2345-6001")
        .fill("email", "ana@example.com")
        .choose("whatsapp", "1");
    let fields = form.fields.clone();
    let posted = post_form(&mut b, &form.action, &fields).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let (id, token) = manage_target(&app, &posted.location);
    let confirmation = follow(&mut b, posted).await;
    assert_html_page(&confirmation, 200, "Tu turno");
    let stored = booking(&app, id.n).await.expect("the booking exists");
    assert_eq!(
        stored.status,
        barberpro::domain::BookingStatus::PendingPayment
    );

    // The confirmation: held, not confirmed; the amount es-AR; the link to pay.
    let body = &confirmation.body;
    for text in [
        "Reservamos tu horario: falta pagar la seña para confirmarlo.",
        "id=\"status\">pendiente de pago<",
        "id=\"total\">$\u{a0}8.000,00<",
        "id=\"deposit\">$\u{a0}2.400,00 · esperando el pago",
        "Para confirmar el turno falta pagar la seña ($\u{a0}2.400,00) antes de las 08:15 del \
         lunes 01/03/2027. Si no se paga a tiempo, el horario se libera.",
    ] {
        assert!(body.contains(text), "{text:?} missing: {body}");
    }
    let payment = stored_payment(&app, id.n).await;
    assert_eq!(payment.amount.centavos(), 240_000);
    let init_point = payment.init_point.clone().expect("a Checkout Pro link");
    let pay = link(body, "pay");
    assert_eq!(
        pay, init_point,
        "the page links the preference's init_point"
    );
    assert_eq!(
        pay,
        format!(
            "https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id={}",
            payment.preference_id.as_deref().expect("a preference")
        )
    );
    let prefs = fake.seen(Op::Preference);
    assert_eq!(prefs.len(), 1, "one preference for one booking");
    assert_eq!(prefs[0].body["external_reference"], id.n.to_string());
    assert_eq!(
        prefs[0].body["items"][0]["unit_price"].as_f64(),
        Some(2400.0)
    );

    // The client pays at MercadoPago, which sends the browser back (no token in that URL):
    // a page that says what happened and where to look, and nothing about the booking.
    let back = prefs[0].body["back_urls"]["success"]
        .as_str()
        .expect("a success URL");
    let back = back
        .strip_prefix(&*app.state.public_url)
        .unwrap_or_else(|| panic!("{back} is not ours"));
    let returned = b.get(back).await;
    assert_html_page(&returned, 200, "Mercado Pago aprobó tu pago");
    assert!(
        !returned.body.contains("Ana Gómez") && !returned.body.contains("Martín"),
        "the return page shows no booking: {}",
        returned.body
    );
    let unknown = b.get("/turnos/999999?pago=aprobado").await;
    assert_eq!(
        unknown.body, returned.body,
        "an unknown id gets the same page"
    );

    // MercadoPago's signed webhook; the worker fetches the payment and confirms the booking.
    let mp = fake.pay(id.n, 240_000, "approved");
    fake.notify(&app, mp).await.expect(200);
    let manage_path = format!("/turnos/{id}?token={token}");
    let manage = eventually("the manage page shows the booking confirmed", || {
        let mut b = Browser::new(&app);
        let path = manage_path.clone();
        async move {
            let page = b.get(&path).await;
            page.body
                .contains("id=\"status\">confirmado<")
                .then_some(page)
        }
    })
    .await;
    assert_html_page(&manage, 200, "id=\"deposit\">$\u{a0}2.400,00 · pagada<");
    assert!(
        !manage.body.contains("id=\"pay\"") && !manage.body.contains("id=\"pay-notice\""),
        "nothing left to pay: {}",
        manage.body
    );
    assert!(
        manage.body.contains("id=\"cancel-form\""),
        "still changeable"
    );
    let entries = app
        .store
        .read(|tx| audit::list(tx, &audit::Filter::default(), 50))
        .await
        .expect("audit");
    assert!(
        entries
            .iter()
            .any(|e| e.action == "booking.deposit_paid" && e.entity_id == Some(id.n)),
        "the confirmation by payment is audited"
    );
}

#[tokio::test]
async fn while_mercadopago_is_down_the_manage_page_says_the_link_is_coming() {
    let (app, fake) = spawn_with_deposits().await;
    // More failures than the client's own retries: the booking is answered without a link.
    for _ in 0..4 {
        fake.fail_next(Op::Preference, 503, None);
    }
    let mut b = Browser::new(&app);
    let details = b
        .get(&format!(
            "/reservar/palermo/datos?services=1&barber=1&start={}",
            at(TUESDAY, "11:00").replace('+', "%2B")
        ))
        .await;
    let mut form = FormView::parse(&details.body, "details-form");
    form.fill("name", "Ana Gómez")
        .fill("phone", "011 15-2345-6002");
    let fields = form.fields.clone();
    let posted = post_form(&mut b, &form.action, &fields).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let (id, token) = manage_target(&app, &posted.location);
    let page = follow(&mut b, posted).await;
    assert_html_page(&page, 200, "Estamos preparando el enlace de pago");
    assert!(
        page.body
            .contains("id=\"deposit\">$\u{a0}2.400,00 · preparando el pago"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("id=\"pay\""), "{}", page.body);
    // The worker retries; once MercadoPago answers, the same page links the checkout.
    app.clock
        .set(crate::helpers::ts(crate::helpers::MONDAY_8AM) + jiff::SignedDuration::from_secs(6));
    let paid_link = eventually("the worker makes the preference", || async {
        stored_payment(&app, id.n).await.init_point
    })
    .await;
    let page = b.get(&format!("/turnos/{id}?token={token}")).await;
    assert_eq!(link(&page.body, "pay"), paid_link);
    assert!(
        !page.body.contains("Estamos preparando el enlace"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_branch_created_in_the_catalogue_asks_the_default_deposit() {
    use barberpro::domain::staff::Role;
    let (app, _fake) = spawn_with_deposits().await;
    crate::admin::create_staff(&app, "duena@barberpro.test", "Dueña", Role::Owner, None).await;
    let mut owner = Browser::new(&app);
    owner.login_ok("duena@barberpro.test").await;
    let csrf = owner.get("/admin/catalogo").await.csrf();
    owner
        .post(
            "/admin/catalogo/sucursales",
            &[
                ("csrf", &csrf),
                ("name", "BarberPro Caballito"),
                ("slug", "caballito"),
                ("address", "Av. Rivadavia 5000, CABA"),
                ("phone", ""),
                ("time_zone", "America/Argentina/Buenos_Aires"),
                ("active", "1"),
            ],
        )
        .await
        .expect_redirect("/admin/catalogo");
    let catalogue = owner.get("/admin/catalogo").await;
    let branch = app
        .store
        .read(|tx| barberpro::store::catalog::branch_by_slug(tx, "caballito"))
        .await
        .expect("the branch exists");
    let row = &catalogue.body[catalogue
        .body
        .find(&format!("id=\"branch-{}\"", branch.id.0))
        .expect("its row")..];
    let row = &row[..row.find("</tr>").expect("end of row")];
    assert!(
        row.contains("class=\"deposit\">30 % del precio, a todos los clientes<"),
        "the default policy: {row}"
    );
    // Martín takes Mondays there; a client booking through the pages is asked 30 %.
    crate::admin::week::save_week(&mut owner, 1, branch.id.0, |fields| {
        for (k, v) in [
            ("d1_works", "1"),
            ("d1_start", "10:00"),
            ("d1_end", "14:00"),
        ] {
            crate::admin::week::set(fields, k, v);
        }
    })
    .await
    .expect_redirect("/admin/catalogo");
    let mut b = Browser::new(&app);
    let details = b
        .get(&format!(
            "/reservar/caballito/datos?services=1&barber=1&start={}",
            at("2027-03-08", "10:00").replace('+', "%2B")
        ))
        .await;
    assert_html_page(&details, 200, "seña de $\u{a0}2.400,00");
    let mut form = FormView::parse(&details.body, "details-form");
    form.fill("name", "Ana Gómez")
        .fill("phone", "011 15-2345-6003");
    let fields = form.fields.clone();
    let posted = post_form(&mut b, &form.action, &fields).await;
    let (id, _) = manage_target(&app, &posted.location);
    let page = follow(&mut b, posted).await;
    assert_html_page(
        &page,
        200,
        "id=\"deposit\">$\u{a0}2.400,00 · esperando el pago",
    );
    assert_eq!(stored_payment(&app, id.n).await.amount.centavos(), 240_000);
}
