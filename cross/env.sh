# Sourced by the cross/ scripts: makes sure the Debian cross compilers, qemu
# and the rustup targets are there (installing what is missing when root),
# and points cargo at them through the environment (no .cargo/config.toml, so
# nothing leaks into Yocto or cross-rs builds).

cross_require() {
    local missing=()
    command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
    command -v arm-linux-gnueabihf-gcc >/dev/null || missing+=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)
    command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
    command -v aarch64-linux-gnu-strip >/dev/null || missing+=(binutils-aarch64-linux-gnu)
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "cross: installing ${missing[*]}"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        else
            echo "cross: missing ${missing[*]} (apt-get install them)" >&2
            return 1
        fi
    fi
    local have
    have=$(rustup target list --installed)
    for t in "$@"; do
        grep -qx "$t" <<<"$have" || rustup target add "$t"
    done
}

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUNNER=qemu-aarch64
export CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc
# Static musl: link without a GNU_RELRO segment. Only a dynamic loader applies
# RELRO (musl's static start-up never does), yet GNU ld pads the file so that
# the RELRO end falls on a 64 KiB page: up to 64 KB of zeros in the binary
# (31 KB at 0d49a59) and a size that jumps in 64 KiB steps. Without it the
# data segment follows the code within 4 KiB, still loadable by kernels with
# 4, 16 or 64 KiB pages (unlike -z max-page-size=4096). The gnu targets are
# dynamic: their RELRO is real and stays.
#
# The static musl build is the one that ships on the smallest devices, and the
# scripts here only ever build it as a release build (panic = "abort": nothing
# unwinds). Two more linker choices keep it in its flash budget
# (cross/footprint.sh), measured at the issue-18 head (2,591,128 B with GNU ld):
# - no .eh_frame_hdr (-84 KB): the index an unwinder searches; with
#   panic = "abort" only a RUST_BACKTRACE backtrace would walk the stack, and a
#   stripped binary's backtrace names no function anyway;
# - rust-lld (shipped with every rustup toolchain, reached through its gcc-ld
#   wrapper) with identical code folding (--icf=all, -33 KB): rustc marks every
#   function unnamed_addr (Rust gives no function-address uniqueness), so folding
#   identical ones changes nothing a Rust program may observe.
# Together 2,474,648 B. A test build with panic = "unwind" must not use these
# flags (cross/test-qemu.sh runs the gnu targets' suites, not musl).
rust_gcc_ld="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/gcc-ld"
release_link="-C link-arg=-Wl,--no-eh-frame-hdr -C link-arg=-fuse-ld=lld -C link-arg=-B$rust_gcc_ld -C link-arg=-Wl,--icf=all"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C link-arg=-Wl,-z,norelro $release_link"
# The shipped aarch64-gnu binary takes the same two link choices (2,627,272 ->
# 2,479,064 B at the issue-18 head), but only in release builds: the gnu
# targets' test suites run under qemu (cross/test-qemu.sh) with panic =
# "unwind", which needs .eh_frame_hdr. Scripts that build only release
# binaries (footprint.sh, build.sh) call this first.
cross_release_link() {
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="$release_link"
}
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER="qemu-arm -L /usr/arm-linux-gnueabihf"
export CC_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-gcc

# binfmt_misc: lets the kernel run ARM executables through qemu, so a test
# that spawns the ARM `fieldattest` binary (and a chroot) works. Needs root.
cross_binfmt() {
    [ "$(id -u)" = 0 ] || return 0
    if [ ! -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P ] && [ ! -x /usr/bin/qemu-aarch64-static ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static binfmt-support >/dev/null
    fi
    [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    update-binfmts --enable qemu-aarch64 2>/dev/null || true
    update-binfmts --enable qemu-arm 2>/dev/null || true
}

# Library prefix for dynamically linked ARM programs started through binfmt.
cross_ld_prefix() {
    case "$1" in
        aarch64-unknown-linux-gnu) echo /usr/aarch64-linux-gnu ;;
        armv7-unknown-linux-gnueabihf) echo /usr/arm-linux-gnueabihf ;;
        *) echo "" ;;
    esac
}

# strip(1) for a target triple.
cross_strip() {
    case "$1" in
        aarch64-*) echo aarch64-linux-gnu-strip ;;
        armv7-*) echo arm-linux-gnueabihf-strip ;;
        *) echo strip ;;
    esac
}

# The emulator command for a target triple.
cross_runner() {
    case "$1" in
        aarch64-unknown-linux-gnu) echo "qemu-aarch64 -L /usr/aarch64-linux-gnu" ;;
        aarch64-unknown-linux-musl) echo qemu-aarch64 ;;
        armv7-unknown-linux-gnueabihf) echo "qemu-arm -L /usr/arm-linux-gnueabihf" ;;
        *) echo "" ;;
    esac
}
