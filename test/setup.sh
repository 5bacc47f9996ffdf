#!/usr/bin/env bash
# Installs what the test suites need on a fresh Debian machine, and starts
# PostgreSQL when it is not running. Safe to run again: it only installs
# what is missing.
set -euo pipefail

packages=(
  rclone s3cmd s3fs fuse3           # real S3 clients (s3fs mounts need FUSE)
  p7zip-full bzip2 xz-utils zstd    # archive tools used to cross-check fixtures
  libarchive-tools unzip zip unrar-free
  ssdeep tlsh-tools                 # golden tests of the similarity analyzers
  curl openssl
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The AWS CLI and boto3 come with the machine's default Python; fall back to
# Debian's packages when they are absent.
command -v aws >/dev/null 2>&1 || missing+=(awscli)
python3 -c 'import boto3' >/dev/null 2>&1 || missing+=(python3-boto3)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL: use the running server on 127.0.0.1:5432, else start (or
# install and create) a cluster.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
  fi
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 -q || { echo "setup: PostgreSQL did not start" >&2; exit 1; }
fi
echo "setup: ok"
