//! The page shell (head, navigation, search box, wallet, footer) and small shared pieces:
//! cards, badges, links to identities, number formats.

use comqute_qpi::{Amount, Hash32, Identity};
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// Which navigation entry is lit.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Explorer,
    Submit,
    History,
    Worker,
    Models,
    Pools,
    Network,
    None,
}

const NAV: [(Nav, &str, &str); 7] = [
    (Nav::Explorer, "/", "Explorer"),
    (Nav::Submit, "/submit", "Submit"),
    (Nav::History, "/history", "My jobs"),
    (Nav::Worker, "/worker", "Worker"),
    (Nav::Models, "/models", "Models"),
    (Nav::Pools, "/pools", "Pools"),
    (Nav::Network, "/network", "Network"),
];

/// A whole page: `title`, the lit entry, whether the node is a devnet, and the body.
pub fn page(title: &str, nav: Nav, devnet: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" class="dark" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · comqute" }
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/assets/app.css";
                link rel="stylesheet" href="/assets/vendor/uPlot.min.css";
                script src="/assets/vendor/htmx.min.js" defer {}
                script src="/assets/vendor/htmx-ext-sse.js" defer {}
                script src="/assets/vendor/uPlot.iife.min.js" defer {}
                script type="module" src="/assets/js/app.js" {}
            }
            body class="min-h-screen bg-slate-950 text-slate-200 font-sans antialiased"
                data-devnet=(if devnet { "true" } else { "false" })
                data-profile=(comqute_qpi::profile::display().name()) {
                header class="sticky top-0 z-30 border-b border-slate-800/80 bg-slate-950/90 backdrop-blur" {
                    div class="mx-auto flex max-w-7xl flex-wrap items-center gap-3 px-4 py-3" {
                        a href="/" class="flex items-center gap-2 text-lg font-semibold tracking-tight text-white" {
                            span class="inline-block h-7 w-7 rounded-lg bg-gradient-to-br from-violet-500 to-cyan-400" {}
                            "comqute"
                            @if devnet {
                                span class="rounded-full border border-amber-500/40 bg-amber-500/10 px-2 py-0.5 text-xs font-medium text-amber-300" { "devnet" }
                            }
                        }
                        form action="/search" method="get" role="search" class="order-3 w-full md:order-none md:ml-4 md:w-auto md:flex-1" {
                            input id="search" name="q" type="search" required
                                placeholder="Search job, tx, identity, tick, result hash, model"
                                aria-label="Search"
                                class="w-full rounded-lg border border-slate-700 bg-slate-900 px-3 py-2 text-sm text-slate-100 placeholder-slate-500 focus:border-violet-500 focus:outline-none focus:ring-1 focus:ring-violet-500";
                        }
                        button id="wallet-button" type="button"
                            class="ml-auto rounded-lg border border-violet-500/50 bg-violet-600/20 px-3 py-2 text-sm font-medium text-violet-200 hover:bg-violet-600/40" {
                            "Connect wallet"
                        }
                    }
                    nav class="mx-auto flex max-w-7xl gap-1 overflow-x-auto px-4 pb-2 text-sm" {
                        @for (n, href, label) in NAV {
                            @if n == nav {
                                a href=(href) class="whitespace-nowrap rounded-md bg-slate-800 px-3 py-1.5 font-medium text-white" aria-current="page" { (label) }
                            } @else {
                                a href=(href) class="whitespace-nowrap rounded-md px-3 py-1.5 text-slate-400 hover:bg-slate-900 hover:text-white" { (label) }
                            }
                        }
                    }
                }
                main class="mx-auto max-w-7xl px-4 py-6" { (body) }
                footer class="mx-auto max-w-7xl px-4 pb-8 pt-4 text-xs text-slate-500" {
                    "Every figure comes from this node's API (" a class="underline hover:text-slate-300" href="/v1/stats" { "/v1" } "); every action is a transaction your browser signs. "
                    a class="underline hover:text-slate-300" href="/metrics" { "metrics" } " · "
                    a class="underline hover:text-slate-300" href="/health" { "health" }
                }
                (wallet_dialog(devnet))
            }
        }
    }
}

/// The wallet: create or import a seed, unlock a saved one, see the balance, get devnet
/// funds. Driven by `web/js/app.js`; the seed stays in the browser.
fn wallet_dialog(devnet: bool) -> Markup {
    html! {
        dialog id="wallet-dialog" class="w-[min(34rem,calc(100vw-1.5rem))] rounded-2xl border border-slate-700 bg-slate-900 p-0 text-slate-200 shadow-2xl backdrop:bg-black/60" {
            div class="flex items-center justify-between border-b border-slate-800 px-5 py-3" {
                h2 class="text-base font-semibold text-white" { "Wallet" }
                button type="button" data-close class="rounded p-1 text-slate-400 hover:text-white" aria-label="Close" { "✕" }
            }
            div class="space-y-4 px-5 py-4" {
                p id="wallet-error" role="alert" class="hidden rounded-lg border border-rose-500/40 bg-rose-500/10 px-3 py-2 text-sm text-rose-300" {}
                section id="wallet-open" class="hidden space-y-3" {
                    div {
                        div class="text-xs uppercase tracking-wide text-slate-500" { "Identity" }
                        a id="wallet-identity" class="break-all font-mono text-sm text-cyan-300 hover:underline" href="#" {}
                    }
                    div class="flex items-baseline gap-2" {
                        div class="text-xs uppercase tracking-wide text-slate-500" { "Balance" }
                        span id="wallet-balance" class="text-xl font-semibold text-white" { "…" }
                        span class="text-xs text-slate-500" { "units" }
                    }
                    div class="flex flex-wrap gap-2" {
                        @if devnet {
                            button id="wallet-faucet" type="button" class="rounded-lg bg-amber-500 px-3 py-2 text-sm font-semibold text-slate-950 hover:bg-amber-400" { "Get 1,000,000 devnet units" }
                        }
                        button id="wallet-forget" type="button" class="rounded-lg border border-slate-700 px-3 py-2 text-sm hover:bg-slate-800" { "Lock / forget" }
                    }
                    details class="rounded-lg border border-slate-800 p-3 text-sm" {
                        summary class="cursor-pointer text-slate-400" { "Show seed" }
                        p class="mt-2 text-xs text-amber-300" { "Anyone with these 55 letters controls the money. Write them down; never paste them into a site." }
                        code id="wallet-seed" class="mt-1 block break-all rounded bg-slate-950 p-2 font-mono text-xs text-slate-300" {}
                    }
                }
                section id="wallet-closed" class="space-y-4" {
                    div id="wallet-unlock" class="hidden space-y-2" {
                        h3 class="text-sm font-semibold text-white" { "Unlock the saved wallet" }
                        input id="wallet-unlock-pass" type="password" autocomplete="current-password" placeholder="Passphrase" class="w-full rounded-lg border border-slate-700 bg-slate-950 px-3 py-2 text-sm";
                        div class="flex gap-2" {
                            button id="wallet-unlock-go" type="button" class="rounded-lg bg-violet-600 px-3 py-2 text-sm font-semibold text-white hover:bg-violet-500" { "Unlock" }
                            button id="wallet-unlock-drop" type="button" class="rounded-lg border border-slate-700 px-3 py-2 text-sm hover:bg-slate-800" { "Remove saved wallet" }
                        }
                    }
                    div class="space-y-2" {
                        h3 class="text-sm font-semibold text-white" { "New wallet" }
                        p class="text-xs text-slate-400" { "A fresh 55-letter seed made by your browser. The node never sees it." }
                        button id="wallet-create" type="button" class="rounded-lg bg-violet-600 px-3 py-2 text-sm font-semibold text-white hover:bg-violet-500" { "Create wallet" }
                    }
                    div class="space-y-2" {
                        h3 class="text-sm font-semibold text-white" { "Import a seed" }
                        input id="wallet-import-seed" type="password" autocomplete="off" spellcheck="false" placeholder="55 lowercase letters" class="w-full rounded-lg border border-slate-700 bg-slate-950 px-3 py-2 font-mono text-sm";
                        button id="wallet-import" type="button" class="rounded-lg border border-violet-500/60 px-3 py-2 text-sm font-semibold text-violet-200 hover:bg-violet-600/20" { "Import" }
                    }
                    div class="space-y-2 rounded-lg border border-slate-800 p-3" {
                        label class="flex items-center gap-2 text-sm" {
                            input id="wallet-remember" type="checkbox" class="accent-violet-500";
                            "Remember on this device, encrypted with a passphrase"
                        }
                        input id="wallet-pass" type="password" autocomplete="new-password" placeholder="Passphrase (at least 8 characters)" class="w-full rounded-lg border border-slate-700 bg-slate-950 px-3 py-2 text-sm";
                        p class="text-xs text-slate-500" { "Without it, the seed lives in this tab only and is gone when you close it." }
                    }
                }
            }
        }
    }
}

/// The error page.
pub fn error_page(title: &str, detail: &str) -> Markup {
    page(
        title,
        Nav::None,
        false,
        html! {
            div class="mx-auto mt-16 max-w-xl rounded-2xl border border-slate-800 bg-slate-900 p-8 text-center" data-error-page {
                h1 class="text-2xl font-semibold text-white" { (title) }
                p class="mt-3 break-words text-slate-400" { (detail) }
                div class="mt-6 flex justify-center gap-3" {
                    a href="/" class="rounded-lg bg-violet-600 px-4 py-2 text-sm font-semibold text-white hover:bg-violet-500" { "Back to the explorer" }
                }
            }
        },
    )
}

/// `1234567` as `1,234,567`.
pub fn int(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An amount with its unit.
pub fn amount(a: Amount) -> Markup {
    html! { span class="tabular-nums" { (int(a.0)) } " " span class="text-xs text-slate-500" { "units" } }
}

/// `ABCDEF…WXYZ`.
pub fn short(s: &str) -> String {
    if s.len() <= 14 {
        return s.to_string();
    }
    format!("{}…{}", &s[..6], &s[s.len() - 4..])
}

/// A link to an identity's page (a worker's when `worker`).
pub fn who(id: &Identity, worker: bool) -> Markup {
    let s = id.to_string();
    let href = if worker {
        format!("/workers/{s}")
    } else {
        format!("/identities/{s}")
    };
    html! { a href=(href) title=(s) class="font-mono text-cyan-300 hover:underline" { (short(&s)) } }
}

/// A hash, shortened, with the whole in its title.
pub fn hash(h: &Hash32) -> Markup {
    let s = h.to_string();
    html! { span title=(s) class="font-mono text-slate-300" { (short(&s)) } }
}

/// A status badge, coloured by what it means for money.
pub fn badge(status: &str) -> Markup {
    let colour = match status {
        "Finalized" | "Resolved" | "executed" | "Active" | "online" | "Passed" => {
            "border-emerald-500/40 bg-emerald-500/10 text-emerald-300"
        }
        "Open" | "pending" | "Unbonding" | "Checking" => {
            "border-amber-500/40 bg-amber-500/10 text-amber-300"
        }
        "Assigned" | "Running" | "Completed" => "border-sky-500/40 bg-sky-500/10 text-sky-300",
        "Failed" | "failed" | "dropped" | "Expired" | "Exited" | "offline" | "Cancelled" => {
            "border-rose-500/40 bg-rose-500/10 text-rose-300"
        }
        _ => "border-slate-600 bg-slate-800 text-slate-300",
    };
    html! { span class={"inline-flex items-center rounded-full border px-2 py-0.5 text-xs font-medium " (colour)} { (status) } }
}

/// A titled card.
pub fn card(title: &str, body: Markup) -> Markup {
    html! {
        section class="rounded-2xl border border-slate-800 bg-slate-900/60 p-4 shadow-sm" {
            h2 class="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-400" { (title) }
            (body)
        }
    }
}

/// A row of a definition grid.
pub fn field(label: &str, value: Markup) -> Markup {
    html! {
        div class="grid grid-cols-1 gap-1 border-b border-slate-800/70 py-2 sm:grid-cols-[12rem_1fr]" {
            dt class="text-sm text-slate-500" { (label) }
            dd class="min-w-0 break-words text-sm text-slate-200" { (value) }
        }
    }
}

/// A page heading with an optional badge.
pub fn heading(title: &str, sub: Option<Markup>) -> Markup {
    html! {
        div class="mb-5 flex flex-wrap items-center gap-3" {
            h1 class="text-2xl font-semibold tracking-tight text-white" { (title) }
            @if let Some(s) = sub { (s) }
        }
    }
}

/// JSON, pretty, escaped.
pub fn json(v: &serde_json::Value) -> Markup {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    html! { pre class="max-h-96 overflow-auto rounded-lg bg-slate-950 p-3 font-mono text-xs text-slate-300" { (text) } }
}

/// A script value (a JSON string in a `<script type="application/json">`), escaped so no
/// `</script>` can close it early.
pub fn data_script(id: &str, v: &serde_json::Value) -> Markup {
    let text = serde_json::to_string(v)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c");
    html! { script type="application/json" id=(id) { (PreEscaped(text)) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_group_by_thousands() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1000), "1,000");
        assert_eq!(int(-1234567), "-1,234,567");
    }

    #[test]
    fn a_data_script_cannot_be_closed_by_its_content() {
        let m = data_script("x", &serde_json::json!({"p": "</script><b>"})).into_string();
        assert!(!m.contains("</script><b>"), "{m}");
    }
}
