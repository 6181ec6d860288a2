//! La caja's forms over HTTP: CSRF, roles, bad amounts, a closed till.
