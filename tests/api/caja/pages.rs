//! La caja's pages over HTTP.
