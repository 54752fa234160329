#!/bin/sh
# Builds web/static/echarts.min.js (and its .gz twin) from echarts-entry.js
# with the exact versions pinned in package-lock.json, and copies the
# licences of what the bundle contains to web/static/echarts.LICENSE.txt.
# The outputs are committed: the dashd binary embeds them and fetches
# nothing at run time. Run it again after changing the entry or the pins.
set -eu
cd "$(dirname "$0")"
static=../static

npm ci --no-audit --no-fund --loglevel=error
version=$(node -p 'require("./node_modules/echarts/package.json").version')
# esbuild's postinstall may be skipped by npm 11 (install scripts not
# approved); the platform package it depends on still carries the binary,
# so call it through the npm-provided shim.
./node_modules/.bin/esbuild echarts-entry.js \
	--bundle --minify --format=iife --target=es2020 \
	--define:process.env.NODE_ENV='"production"' \
	--legal-comments=none --log-level=warning \
	--banner:js="/*! Apache ECharts $version (parts), Apache-2.0; licences: echarts.LICENSE.txt */" \
	--outfile="$static/echarts.min.js"

# A precompressed copy, served to clients that accept gzip.
gzip -9 -n -c "$static/echarts.min.js" >"$static/echarts.min.js.gz"

{
	echo "web/static/echarts.min.js bundles parts of Apache ECharts $version,"
	echo "ZRender $(node -p 'require("./node_modules/zrender/package.json").version') and tslib $(node -p 'require("./node_modules/tslib/package.json").version'). Their notices and licences follow."
	echo
	echo "==== echarts/NOTICE ===="
	cat node_modules/echarts/NOTICE
	echo
	echo "==== echarts/LICENSE ===="
	cat node_modules/echarts/LICENSE
	echo
	echo "==== echarts/licenses/LICENSE-d3 ===="
	cat node_modules/echarts/licenses/LICENSE-d3
	echo
	echo "==== zrender/LICENSE ===="
	cat node_modules/zrender/LICENSE
	echo
	echo "==== tslib/LICENSE.txt ===="
	cat node_modules/tslib/LICENSE.txt
} >"$static/echarts.LICENSE.txt"

ls -l "$static/echarts.min.js" "$static/echarts.min.js.gz"

# axe-core, for the accessibility tests only (cmd/dashd/browser_a11y_test.go
# injects it into pages in Chromium): a copy beside the tests, so that they
# need no npm; never embedded in the binary.
testdata=../../cmd/dashd/testdata
mkdir -p "$testdata"
cp node_modules/axe-core/axe.min.js "$testdata/axe.min.js"
{
	echo "cmd/dashd/testdata/axe.min.js is axe-core $(node -p 'require("./node_modules/axe-core/package.json").version') (npm), MPL-2.0:"
	echo
	cat node_modules/axe-core/LICENSE
} >"$testdata/axe.LICENSE.txt"
ls -l "$testdata/axe.min.js"
