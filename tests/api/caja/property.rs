//! Property, over random days of checkouts, voids, cash movements, advances, stock
//! adjustments and closes, run through the real use cases and store:
//! * every sale's payments plus its deposit credit add up to its total;
//! * a closed till's recorded expected cash is float + cash in − cash out of its day's
//!   entries, and stays so (a closed day takes no new entry);
//! * a barber's statement total is the sum of its lines, and equals commissions computed
//!   independently from the sales and voids;
//! * stock is never negative and equals what adjustments, sales and voids say;
//! * no ledger entry is ever rewritten.

use std::collections::{BTreeMap, HashMap};

use barberpro::app::checkout::{self, ChargeRequest};
use barberpro::app::{AppError, commissions, products, till};
use barberpro::domain::caja::{
    CajaError, CashKind, CommissionRules, Entry, EntryKind, PaymentMethod, ProductId, Rate,
};
use barberpro::domain::staff::Role;
use barberpro::domain::{BarberId, BranchId, DomainError, ServiceId};
use barberpro::store::{ledger, till as store_till};
use jiff::ToSpan;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{money, staff, tender};
use crate::helpers::{MONDAY_8AM, spawn_app_at, ts};

const PALERMO: BranchId = BranchId(1);

#[tokio::test]
async fn random_days_of_checkouts_voids_cash_and_closes_keep_the_books_straight() {
    let app = spawn_app_at(MONDAY_8AM).await;
    let owner = staff(Role::Owner, None);
    let desk = staff(Role::Recepcion, None);
    let a = &*app.state;
    // Two products with stock; commission rules for two barbers.
    let mut stock: HashMap<u64, i64> = HashMap::new();
    for (name, price) in [("Pomada", 450_000), ("Shampoo", 300_000)] {
        let p = products::create(a, &owner, name, money(price), 2)
            .await
            .unwrap();
        products::adjust(a, &desk, p.id, PALERMO, 5, "compra inicial")
            .await
            .unwrap();
        stock.insert(p.id.0, 5);
    }
    for (barber, bp) in [(1, 4_000), (2, 3_750)] {
        let rules = CommissionRules {
            services: Rate::Percent(bp),
            per_service: vec![(ServiceId(2), Rate::Fixed(money(50_000)))],
            per_category: Vec::new(),
            products: 1_000,
        };
        commissions::set_rules(a, &owner, BarberId(barber), rules)
            .await
            .unwrap();
    }
    let seed: u64 = std::env::var("CAJA_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut sales: Vec<u64> = Vec::new();
    let mut first_seen: BTreeMap<u64, Entry> = BTreeMap::new();
    let start = ts(MONDAY_8AM);
    for day in 0..8i64 {
        app.clock
            .set(start.checked_add((day * 24).hours()).unwrap());
        let today = start
            .checked_add((day * 24).hours())
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::get("America/Argentina/Buenos_Aires").unwrap())
            .date();
        let opened = till::open(a, &desk, PALERMO, today, money(rng.gen_range(0..2_000_000))).await;
        assert!(
            opened.is_ok(),
            "seed {seed}: opening day {today}: {opened:?}"
        );
        for _ in 0..rng.gen_range(4..14) {
            app.clock.set(
                app.clock
                    .now()
                    .checked_add(rng.gen_range(5..60).minutes())
                    .unwrap(),
            );
            match rng.gen_range(0..10) {
                0..=5 => {
                    let services: Vec<ServiceId> = (1..=3)
                        .filter(|_| rng.gen_bool(0.5))
                        .map(ServiceId)
                        .collect();
                    let mut prods: Vec<(ProductId, u32)> = Vec::new();
                    for p in 1..=2 {
                        if rng.gen_bool(0.4) {
                            prods.push((ProductId(p), rng.gen_range(1..3)));
                        }
                    }
                    // Price the lines as the catalogue does, to split what is due.
                    let cat = app
                        .store
                        .read(barberpro::store::catalog::load)
                        .await
                        .unwrap();
                    let sub: i64 = services
                        .iter()
                        .map(|s| {
                            cat.services
                                .iter()
                                .find(|x| x.id == *s)
                                .unwrap()
                                .price
                                .centavos()
                        })
                        .sum::<i64>()
                        + prods
                            .iter()
                            .map(|(p, q)| [450_000, 300_000][p.0 as usize - 1] * i64::from(*q))
                            .sum::<i64>();
                    let disc = if rng.gen_bool(0.3) {
                        sub * rng.gen_range(0..30) / 100
                    } else {
                        0
                    };
                    let tip = if rng.gen_bool(0.5) {
                        rng.gen_range(0..200_000)
                    } else {
                        0
                    };
                    let due = sub - disc + tip;
                    let cash = if due > 0 { rng.gen_range(0..=due) } else { 0 };
                    let method = PaymentMethod::ALL[rng.gen_range(1..5)];
                    let tenders = [(PaymentMethod::Efectivo, cash), (method, due - cash)]
                        .into_iter()
                        .filter(|(_, c)| *c > 0)
                        .map(|(m, c)| tender(m, c))
                        .collect();
                    let req = ChargeRequest {
                        branch: PALERMO,
                        booking: None,
                        barber: Some(BarberId(rng.gen_range(1..=2))),
                        client: None,
                        services,
                        products: prods.clone(),
                        discount: (disc > 0).then(|| (money(disc), "promo".to_owned())),
                        tip: money(tip),
                        tenders,
                        send_receipt: false,
                    };
                    match checkout::charge(a, &desk, req).await {
                        Ok(e) => {
                            for (p, q) in &prods {
                                *stock.get_mut(&p.0).unwrap() -= i64::from(*q);
                            }
                            sales.push(e.id.0);
                        }
                        Err(AppError::Rule(DomainError::Caja(
                            CajaError::NothingCharged | CajaError::OutOfStock(_),
                        ))) => {}
                        Err(e) => panic!("seed {seed}: a charge failed: {e:?}"),
                    }
                }
                6 if !sales.is_empty() => {
                    let id = sales.swap_remove(rng.gen_range(0..sales.len()));
                    let e = app
                        .store
                        .read(move |tx| ledger::get(tx, barberpro::domain::caja::EntryId(id)))
                        .await
                        .unwrap()
                        .unwrap();
                    match checkout::void(a, &owner, e.id, "error de carga").await {
                        Ok(_) => {
                            if let EntryKind::Sale(s) = &e.kind {
                                for p in &s.checkout.products {
                                    *stock.get_mut(&p.product.0).unwrap() += i64::from(p.qty);
                                }
                            }
                        }
                        Err(e) => panic!("seed {seed}: a void failed: {e:?}"),
                    }
                    // Voiding twice is refused.
                    let again = checkout::void(a, &owner, e.id, "otra vez").await;
                    assert!(
                        matches!(
                            again,
                            Err(AppError::Rule(DomainError::Caja(CajaError::AlreadyVoided)))
                        ),
                        "seed {seed}: a second void of {} was {again:?}",
                        e.id
                    );
                }
                7 => {
                    let kind = if rng.gen_bool(0.5) {
                        CashKind::Retiro
                    } else {
                        CashKind::Gasto
                    };
                    till::cash_out(
                        a,
                        &desk,
                        PALERMO,
                        kind,
                        money(rng.gen_range(1..300_000)),
                        "banco",
                    )
                    .await
                    .unwrap();
                }
                8 => {
                    let b = BarberId(rng.gen_range(1..=2));
                    till::advance(
                        a,
                        &desk,
                        PALERMO,
                        b,
                        money(rng.gen_range(1..100_000)),
                        "adelanto",
                    )
                    .await
                    .unwrap();
                }
                _ => {
                    let p = rng.gen_range(1..=2u64);
                    let delta = rng.gen_range(-3..4i64);
                    let r =
                        products::adjust(a, &desk, ProductId(p), PALERMO, delta, "recuento").await;
                    let have = stock[&p];
                    match r {
                        Ok(adj) => {
                            assert!(have + delta >= 0, "seed {seed}: stock went below zero");
                            *stock.get_mut(&p).unwrap() += delta;
                            assert_eq!(
                                adj.after as i64, stock[&p],
                                "seed {seed}: stock after adjustment"
                            );
                        }
                        Err(_) => assert!(
                            delta == 0 || have + delta < 0,
                            "seed {seed}: adjustment {delta} of {have} refused"
                        ),
                    }
                }
            }
            for e in app.store.read(ledger::all).await.unwrap() {
                first_seen.entry(e.id.0).or_insert(e);
            }
        }
        // Close most days with a count near what is expected; the day after takes what follows.
        if rng.gen_bool(0.8) {
            let view = till::day(a, &desk, PALERMO, Some(today)).await.unwrap();
            let counted = (view.expected + rng.gen_range(-50_000..50_000)).max(0);
            let t = till::close(a, &desk, PALERMO, today, money(counted))
                .await
                .unwrap();
            let c = t.closed.unwrap();
            assert_eq!(
                c.expected, view.expected,
                "seed {seed}: expected cash at close"
            );
            assert_eq!(c.difference, counted - c.expected);
            // A sale after the close counts to tomorrow, and closing again is refused.
            let again = till::close(a, &desk, PALERMO, today, money(0)).await;
            assert!(
                matches!(
                    again,
                    Err(AppError::Rule(DomainError::Caja(CajaError::TillClosed)))
                ),
                "seed {seed}: a second close was {again:?}"
            );
        }
    }

    let entries = app.store.read(ledger::all).await.unwrap();
    // The counters saw every sale and void, and the cash of the standing ones.
    let palermo = barberpro::metrics::caja::CajaBranchLabels {
        branch: "palermo".into(),
    };
    let count =
        |kind: fn(&EntryKind) -> bool| entries.iter().filter(|e| kind(&e.kind)).count() as u64;
    assert_eq!(
        a.metrics.caja.sales.get_or_create(&palermo).get(),
        count(|k| matches!(k, EntryKind::Sale(_)))
    );
    assert_eq!(
        a.metrics.caja.voids.get_or_create(&palermo).get(),
        count(|k| matches!(k, EntryKind::Void(_)))
    );
    let cash = barberpro::metrics::caja::RevenueLabels {
        branch: "palermo".into(),
        method: "efectivo".into(),
    };
    let net = a.metrics.caja.revenue.get_or_create(&cash).get() as i64
        - a.metrics.caja.revenue_voided.get_or_create(&cash).get() as i64;
    let ledger_cash: i64 = entries
        .iter()
        .filter_map(|e| e.signed_sale())
        .map(|(s, sign)| sign * s.checkout.cash())
        .sum();
    assert_eq!(net, ledger_cash, "seed {seed}: cash counted in the metrics");
    // Nothing in the ledger was rewritten.
    for e in &entries {
        if let Some(seen) = first_seen.get(&e.id.0) {
            assert_eq!(seen, e, "seed {seed}: ledger entry {} changed", e.id);
        }
    }
    assert!(
        entries.len() > 10,
        "seed {seed}: too few entries ({}) to prove much",
        entries.len()
    );
    // Payments add up; closed tills hold what their entries say.
    let mut by_day: BTreeMap<jiff::civil::Date, Vec<&Entry>> = BTreeMap::new();
    for e in &entries {
        if let EntryKind::Sale(s) = &e.kind {
            let paid: i64 = s.checkout.tenders.iter().map(|t| t.amount.centavos()).sum();
            assert_eq!(
                paid + s.checkout.deposit.centavos(),
                s.checkout.total.centavos(),
                "seed {seed}: sale {}",
                e.id
            );
        }
        by_day.entry(e.day).or_default().push(e);
    }
    for (day, list) in &by_day {
        let t = app
            .store
            .read({
                let day = *day;
                move |tx| store_till::get(tx, PALERMO, day)
            })
            .await
            .unwrap();
        if let Some(t) = t
            && let Some(c) = t.closed
        {
            let cash_in: i64 = list
                .iter()
                .map(|e| e.cash_effect())
                .filter(|c| *c > 0)
                .sum();
            let cash_out: i64 = -list
                .iter()
                .map(|e| e.cash_effect())
                .filter(|c| *c < 0)
                .sum::<i64>();
            assert_eq!(
                c.expected,
                t.float.centavos() + cash_in - cash_out,
                "seed {seed}: till of {day}"
            );
            assert!(
                list.iter().all(|e| e.at <= c.at),
                "seed {seed}: an entry reached {day} after its close"
            );
        }
    }
    // Statements add up, and match the sales' lines computed independently.
    for barber in [1, 2] {
        let from = start.to_zoned(jiff::tz::TimeZone::UTC).date();
        let s = commissions::statement(
            a,
            &owner,
            BarberId(barber),
            from,
            from.saturating_add(10.days()),
        )
        .await
        .unwrap();
        let sum: i64 = s.lines.iter().map(|l| l.line.amount).sum();
        assert_eq!(
            s.total, sum,
            "seed {seed}: barber {barber}'s total is not the sum of its lines"
        );
        let mut independent = 0;
        for e in entries
            .iter()
            .filter(|e| e.barber() == Some(BarberId(barber)))
        {
            independent += match &e.kind {
                EntryKind::Sale(x) => x.commissions.iter().map(|l| l.amount).sum::<i64>(),
                EntryKind::Void(v) => -v.sale.commissions.iter().map(|l| l.amount).sum::<i64>(),
                EntryKind::Advance(adv) => -adv.amount.centavos(),
                EntryKind::Cash(_) => 0,
            };
        }
        assert_eq!(
            s.total, independent,
            "seed {seed}: barber {barber}'s statement"
        );
        assert_eq!(s.total, s.commissions + s.tips - s.advances);
    }
    // Stock is what the operations say, never negative.
    for (p, want) in &stock {
        let p = ProductId(*p);
        let have = app
            .store
            .read(move |tx| barberpro::store::products::stock(tx, p, PALERMO))
            .await
            .unwrap();
        assert!(*want >= 0);
        assert_eq!(have as i64, *want, "seed {seed}: stock of product {p}");
    }
}
