//! La caja's MercadoPago links (`caja_mp_links`): one row per sale whose MercadoPago line got a
//! link, keyed by the sale's entry id. The ledger is not touched: a link being paid is news
//! about a confirmed sale, not a change to it.

use crate::store::engine::WriteTransaction;

use super::{ReadTx, StoreError, codec, tables};
use crate::domain::caja::{EntryId, MpLink};

pub fn get(tx: &impl ReadTx, sale: EntryId) -> Result<Option<MpLink>, StoreError> {
    codec::get(
        &tx.table(tables::CAJA_MP_LINKS)?,
        tables::CAJA_MP_LINKS,
        sale.0,
    )
}

/// Writes a sale's link (a new one, or the same one paid or with a new status).
pub fn put(txn: &WriteTransaction, link: &MpLink) -> Result<(), StoreError> {
    let mut t = txn.open_table(tables::CAJA_MP_LINKS)?;
    codec::put(&mut t, link.sale.0, link)
}

/// Every link, by sale (one per sale with a MercadoPago line that got one: a small table).
pub fn all(tx: &impl ReadTx) -> Result<Vec<MpLink>, StoreError> {
    codec::all(&tx.table(tables::CAJA_MP_LINKS)?, tables::CAJA_MP_LINKS)
}
