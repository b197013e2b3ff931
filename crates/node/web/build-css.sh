#!/usr/bin/env bash
# Builds crates/node/web/app.css from crates/node/web/css/app.in.css with the Tailwind CSS v4
# CLI (@tailwindcss/cli@4), fetched by npx from the npm registry: it is not vendored and
# nothing is installed in the repository. Run it (from anywhere) after changing a page
# template (crates/node/src/web) or a browser script (crates/node/web/js) that adds or drops
# a class name, and commit the new app.css: the node serves the built file as it is.
#
# `npx --yes @tailwindcss/cli@4 -i ... -o ...` alone fails with "Can't resolve 'tailwindcss'
# in crates/node/web/css": the CLI resolves `@import "tailwindcss"` from the input file's
# folder, and npx's package cache is not on that path. The CLI's resolver also reads
# NODE_PATH, so the command runs inside `npx -c` with NODE_PATH set to the node_modules that
# npx installed the CLI (and its tailwindcss dependency) into.
set -euo pipefail
cd "$(dirname "$0")/../../.."   # the repository root
exec npx --yes -p @tailwindcss/cli@4 -c \
  'NODE_PATH="$(dirname "$(command -v tailwindcss)")/.." tailwindcss -i crates/node/web/css/app.in.css -o crates/node/web/app.css --minify "$@"' \
  -- "$@"
