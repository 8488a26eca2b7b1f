#!/usr/bin/env bash
# Prepares everything ./pants needs to run Pants 2.17.1 without GitHub; safe to re-run.
#
#   .venv-pants/          Python 3.9 venv with pantsbuild.pants (2.17.1 is PyPI's last release,
#                         and it needs 3.9) plus the pex package used to build the pex tool.
#   .pants-offline/pex/   the pex CLI as a PEX, built from PyPI instead of GitHub's release asset.
#   .pants-offline/protoc/              Debian's protoc + well-known .protos, packed as the
#                                       archive layout [protoc] expects (bin/, include/).
#   .pants-offline/grpc_python_plugin/  Debian's grpc_python_plugin binary.
#   .pants-offline/buf/   buf (lint and format for .proto files) from PyPI's buf-bin wheel,
#                         packed as the archive layout [buf] expects (buf/bin/buf).
#   .pants.rc             git-ignored overrides pointing Pants at the files above by file:// URL
#                         with their sha256 and size; Pants reads it from the build root.
#
# Every step checks its own output first, so a re-run only redoes what is missing.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${repo_root}/.venv-pants"
offline="${repo_root}/.pants-offline"
log="${offline}/bootstrap.log"
pants_version="2.17.1"
pex_version="2.1.137" # [pex-cli] default of Pants 2.17.1
buf_version="1.75.0"   # PyPI buf-bin; Pants 2.17.1 defaults to GitHub's v1.3.0
ca_certs="/etc/ssl/certs/ca-certificates.crt"
case "$(uname -m)" in
  x86_64) platform="linux_x86_64" ;;
  aarch64) platform="linux_arm64" ;;
  *) echo "pants-bootstrap: error: unsupported machine $(uname -m)" >&2 && exit 1 ;;
esac

mkdir -p "${offline}"
: >"${log}"

step() { echo "pants-bootstrap: $*"; }
die() {
  echo "pants-bootstrap: error: $*" >&2
  exit 1
}
# Runs a command with its output in the log; shows the log's tail if it fails.
quiet() {
  if ! "$@" >>"${log}" 2>&1; then
    tail -n 30 "${log}" >&2
    die "'$*' failed (full log: ${log})"
  fi
}

find_python39() {
  local candidate
  for candidate in "${PANTS_PYTHON:-}" "${PYENV_ROOT:-${HOME}/.pyenv}"/versions/3.9*/bin/python3.9 \
    "$(command -v python3.9 || true)"; do
    if [[ -n "${candidate}" && -x "${candidate}" ]] \
      && "${candidate}" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 9))' 2>/dev/null; then
      echo "${candidate}"
      return 0
    fi
  done
  return 1
}

# --- 1. Pants itself --------------------------------------------------------------------
# .complete holds the venv's path: a venv's scripts name it, so a moved checkout needs a new one.
if [[ "$(cat "${venv}/.complete" 2>/dev/null)" != "${venv}" ]]; then
  python39="$(find_python39)" || die "Pants ${pants_version} needs Python 3.9, and none was found
  (looked at \$PANTS_PYTHON, ${PYENV_ROOT:-${HOME}/.pyenv}/versions/3.9*, python3.9 on PATH).
  Our build machines ship pyenv's 3.9.18. Elsewhere: 'pyenv install 3.9.18' (needs python.org),
  or your distribution's python3.9 package (Debian 12 has none), or set PANTS_PYTHON to any
  CPython 3.9 binary; then run ./pants again."
  step "creating ${venv#"${repo_root}"/} with ${python39}"
  rm -rf "${venv}"
  quiet "${python39}" -m venv "${venv}"
  step "installing pantsbuild.pants==${pants_version} and pex==${pex_version} (about 20 s)"
  quiet "${venv}/bin/pip" install --quiet --disable-pip-version-check \
    "pantsbuild.pants==${pants_version}" "pex==${pex_version}"
  echo "${venv}" >"${venv}/.complete"
fi

# --- 2. The pex CLI -----------------------------------------------------------------------
pex_dir="${offline}/pex/v${pex_version}"
pex_file="${pex_dir}/pex"
if [[ ! -f "${pex_file}" ]]; then
  step "building the pex tool ${pex_version} from PyPI"
  mkdir -p "${pex_dir}"
  # The machine's pip config (/etc/xdg/pip/pip.conf) adds a constraints file that makes pex's
  # pip fail with 'assert req.link is not None'; pex's resolve needs no pip configuration.
  PIP_CONFIG_FILE=/dev/null quiet "${venv}/bin/pex" "pex==${pex_version}" -c pex \
    -o "${pex_file}.tmp"
  mv "${pex_file}.tmp" "${pex_file}"
fi

# --- 3. protoc and the gRPC Python plugin ---------------------------------------------------
protoc_bin="/usr/bin/protoc"
grpc_plugin_bin="/usr/bin/grpc_python_plugin"
well_known_protos="/usr/include/google/protobuf" # from libprotobuf-dev
have_protoc() {
  [[ -x "${protoc_bin}" && -x "${grpc_plugin_bin}" && -f "${well_known_protos}/timestamp.proto" ]]
}
if ! have_protoc; then
  apt_packages="protobuf-compiler protobuf-compiler-grpc libprotobuf-dev"
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    step "installing ${apt_packages} with apt-get"
    # A fresh machine may need its package lists first.
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q ${apt_packages} >>"${log}" 2>&1; then
      quiet apt-get update -q
      quiet apt-get install -y -q ${apt_packages}
    fi
  else
    die "protoc, grpc_python_plugin or the well-known .proto files are missing:
  run 'sudo apt-get install -y ${apt_packages}', then ./pants again."
  fi
fi
protoc_version="$("${protoc_bin}" --version | awk '{print $2}')"
grpc_plugin_version="$(dpkg-query -W -f='${Version}' protobuf-compiler-grpc 2>/dev/null \
  | sed -E 's/^[0-9]+://; s/[-+~].*$//')"
grpc_plugin_version="${grpc_plugin_version:-system}"

protoc_archive="${offline}/protoc/${protoc_version}/protoc-${protoc_version}-${platform}.tar.gz"
if [[ ! -f "${protoc_archive}" ]]; then
  step "packing ${protoc_bin} ${protoc_version} with its well-known .proto files"
  staging="$(mktemp -d)"
  mkdir -p "${staging}/bin" "${staging}/include/google/protobuf" "$(dirname "${protoc_archive}")"
  cp "${protoc_bin}" "${staging}/bin/protoc"
  cp "${well_known_protos}"/*.proto "${staging}/include/google/protobuf/"
  # Fixed metadata keeps the archive, and so its sha256 in .pants.rc, the same on every run.
  tar -C "${staging}" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - bin include \
    | gzip -n >"${protoc_archive}.tmp"
  mv "${protoc_archive}.tmp" "${protoc_archive}"
  rm -rf "${staging}"
fi

grpc_plugin_file="${offline}/grpc_python_plugin/${grpc_plugin_version}/grpc_python_plugin"
if [[ ! -f "${grpc_plugin_file}" ]]; then
  step "copying ${grpc_plugin_bin} ${grpc_plugin_version}"
  mkdir -p "$(dirname "${grpc_plugin_file}")"
  cp "${grpc_plugin_bin}" "${grpc_plugin_file}"
fi

# --- 4. buf ----------------------------------------------------------------------------------
# buf-bin's wheel holds only the static buf binary; it says Python >= 3.10, which only matters to
# its unused Python shim, so the 3.9 venv's pip may fetch it. Named as [buf]'s default
# url_platform_mapping names platforms (Linux-x86_64, Linux-aarch64).
buf_archive="${offline}/buf/v${buf_version}/buf-Linux-$(uname -m).tar.gz"
if [[ ! -f "${buf_archive}" ]]; then
  step "packing buf ${buf_version} from PyPI's buf-bin wheel"
  staging="$(mktemp -d)"
  quiet "${venv}/bin/pip" download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: --ignore-requires-python "buf-bin==${buf_version}" -d "${staging}/wheel"
  quiet "${venv}/bin/python" -m zipfile -e "${staging}"/wheel/buf_bin-*.whl "${staging}/wheel"
  install -D -m 755 "${staging}/wheel/buf_bin-${buf_version}.data/scripts/buf" \
    "${staging}/pkg/buf/bin/buf"
  [[ "$("${staging}/pkg/buf/bin/buf" --version)" == "${buf_version}" ]] \
    || die "buf-bin==${buf_version} did not hold buf ${buf_version}"
  mkdir -p "$(dirname "${buf_archive}")"
  # Same fixed metadata as protoc's archive: a stable sha256 in .pants.rc.
  tar -C "${staging}/pkg" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --mode=u=rwX,go=rX -cf - buf | gzip -n >"${buf_archive}.tmp"
  mv "${buf_archive}.tmp" "${buf_archive}"
  rm -rf "${staging}"
fi

# --- 5. .pants.rc ---------------------------------------------------------------------------
# known_versions entry: VERSION|PLATFORM|SHA256|SIZE
known_version() {
  printf '%s|%s|%s|%s' "$1" "${platform}" "$(sha256sum "$2" | cut -d' ' -f1)" "$(stat -c %s "$2")"
}
step "writing .pants.rc"
cat >"${offline}/pants.rc.tmp" <<EOF
# Generated by scripts/pants-bootstrap.sh; do not edit or commit.
# Points Pants 2.17 at tools built on this machine instead of GitHub downloads.

[GLOBAL]
ca_certs_path = "${ca_certs}"

[subprocess-environment]
# The machine's pip config adds a constraints file that makes pex's pip fail.
env_vars.add = ["PIP_CONFIG_FILE=/dev/null"]

[pex-cli]
version = "v${pex_version}"
url_template = "file://${pex_dir%/v"${pex_version}"}/{version}/pex"
known_versions = ["$(known_version "v${pex_version}" "${pex_file}")"]

[protoc]
version = "${protoc_version}"
url_template = "file://${offline}/protoc/{version}/protoc-{version}-${platform}.tar.gz"
known_versions = ["$(known_version "${protoc_version}" "${protoc_archive}")"]

[grpc-python-plugin]
version = "${grpc_plugin_version}"
url_template = "file://${offline}/grpc_python_plugin/{version}/grpc_python_plugin"
known_versions = ["$(known_version "${grpc_plugin_version}" "${grpc_plugin_file}")"]

[buf]
version = "v${buf_version}"
url_template = "file://${offline}/buf/{version}/buf-{platform}.tar.gz"
known_versions = ["$(known_version "v${buf_version}" "${buf_archive}")"]
EOF
mv "${offline}/pants.rc.tmp" "${repo_root}/.pants.rc"

# ./pants re-runs this script when the stamp no longer matches (script edited, repo moved).
echo "$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1) ${repo_root}" >"${offline}/bootstrap.stamp"
step "done; Pants ${pants_version} is ready"
