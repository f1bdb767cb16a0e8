//! The demo fleet's data: package tables of the image families
//! (`SOURCE VERSION [BINARY...]` per line; no binary: the source's name) and
//! the site names.

pub(super) const DEBIAN: &str = "adduser 3.134
apt 2.6.1 apt libapt-pkg6.0
base-files 12.4 base-files
base-passwd 3.6.1
bash 5.2.15-2
util-linux 2.38.1-5 util-linux bsdutils libblkid1 libmount1 libsmartcols1 libuuid1 mount fdisk libfdisk1
coreutils 9.1-1
dash 0.5.12-2
debconf 1.5.82
debianutils 5.7-0.5
diffutils 1:3.8-4
dpkg 1.21.22
e2fsprogs 1.47.0-2 e2fsprogs libext2fs2 libcom-err2 libss2 logsave
findutils 4.9.0-4
gcc-12 12.2.0-14 libgcc-s1 libstdc++6 gcc-12-base
glibc 2.36-9 libc6 libc-bin
grep 3.8-5
gzip 1.12-1
hostname 3.23+nmu1
init-system-helpers 1.65.2
iproute2 6.1.0-3
iputils 3:20221126-1 iputils-ping
kmod 30+20221128-1 kmod libkmod2
libcap2 1:2.66-4 libcap2 libcap2-bin
libgcrypt20 1.10.1-3
libgpg-error 1.46-1 libgpg-error0
libseccomp 2.5.4-1 libseccomp2
libselinux 3.4-1 libselinux1
libxcrypt 1:4.4.33-2 libcrypt1
libzstd 1.5.4+dfsg2-5 libzstd1
lz4 1.9.4-1 liblz4-1
xz-utils 5.4.1-0.2 liblzma5 xz-utils
ncurses 6.4-4 libncursesw6 libtinfo6 ncurses-base ncurses-bin
openssh 1:9.2p1-2 openssh-server openssh-client openssh-sftp-server
openssl 3.0.11-1 openssl libssl3
pam 1.5.2-6 libpam0g libpam-modules libpam-modules-bin libpam-runtime
perl 5.36.0-7 perl-base
procps 2:4.0.2-3 procps libproc2-0
readline 8.2-1.3 libreadline8 readline-common
sed 4.9-1
shadow 1:4.13+dfsg1-1 passwd login
systemd 252.22-1 systemd libsystemd0 libudev1 udev systemd-sysv systemd-timesyncd
sudo 1.9.13p3-1
tar 1.34+dfsg-1.2
tzdata 2024a-0
zlib 1:1.2.13.dfsg-1 zlib1g
curl 7.88.1-10 curl libcurl4
nghttp2 1.52.0-1 libnghttp2-14
krb5 1.20.1-2 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0
expat 2.5.0-1 libexpat1
libxml2 2.9.14+dfsg-1.3 libxml2
sqlite3 3.40.1-2 libsqlite3-0
dbus 1.14.10-1 dbus libdbus-1-3 dbus-bin dbus-daemon
rsyslog 8.2302.0-1
logrotate 3.21.0-1
cron 3.0pl1-162
ca-certificates 20230311
gnutls28 3.7.9-2 libgnutls30
nettle 3.8.1-2 libnettle8 libhogweed6
gmp 2:6.2.1+dfsg1-1.1 libgmp10
libtasn1-6 4.19.0-2 libtasn1-6
p11-kit 0.24.1-2 libp11-kit0
libidn2 2.3.3-1 libidn2-0
libunistring 1.0-2 libunistring2
libffi 3.4.4-1 libffi8
nftables 1.0.6-2 nftables libnftables1
libnftnl 1.2.4-2 libnftnl11
libmnl 1.0.4-3 libmnl0
ifupdown 0.8.41
isc-dhcp 4.4.3-P1-2 isc-dhcp-client
less 590-2
vim 2:9.0.1378-2 vim-tiny vim-common
libyaml 0.2.5-1 libyaml-0-2
json-c 0.16-2 libjson-c5
libbsd 0.11.7-2 libbsd0
libmd 1.0.4-2 libmd0
audit 1:3.0.9-1 libaudit1 libaudit-common
libcap-ng 0.8.3-1 libcap-ng0
libsemanage 3.4-1 libsemanage2 libsemanage-common
libsepol 3.4-2 libsepol2
pcre2 10.42-1 libpcre2-8-0
attr 1:2.5.1-4 libattr1
acl 2.3.1-3 libacl1
bzip2 1.0.8-5 libbz2-1.0 bzip2
db5.3 5.3.28+dfsg2-1 libdb5.3
gdbm 1.23-3 libgdbm6
libtirpc 1.3.3+ds-1 libtirpc3 libtirpc-common
netbase 6.4
mawk 1.3.4.20200120-3.1
keyutils 1.6.3-2 libkeyutils1
iptables 1.8.9-2 iptables libip4tc2 libxtables12
sensible-utils 0.0.17+nmu1
libssh2 1.10.0-3 libssh2-1
openldap 2.5.13+dfsg-5 libldap-2.5-0
cyrus-sasl2 2.1.28+dfsg-10 libsasl2-2 libsasl2-modules-db
brotli 1.0.9-2 libbrotli1";

pub(super) const DEBIAN_GATEWAY: &str = "mosquitto 2.0.11-1.2 mosquitto libmosquitto1
net-snmp 5.9.3+dfsg-2 snmpd libsnmp40 libsnmp-base
chrony 4.3-4
libwrap 7.6.q-32 libwrap0
libsodium 1.0.18-1 libsodium23";

pub(super) const DEBIAN_HMI: &str = "inetutils 2:2.4-2 inetutils-telnetd
python3.11 3.11.2-6 python3.11-minimal libpython3.11-minimal libpython3.11-stdlib
python3-defaults 3.11.2-1 python3 python3-minimal
libx11 2:1.8.4-2 libx11-6 libx11-data
libxcb 1.15-1 libxcb1
libxau 1:1.0.9-1 libxau6
libxdmcp 1:1.1.2-3 libxdmcp6
freetype 2.12.1+dfsg-5 libfreetype6
fontconfig 2.14.1-4 libfontconfig1 fontconfig-config
libpng1.6 1.6.39-2 libpng16-16
libjpeg-turbo 1:2.1.5-2 libjpeg62-turbo
cups 2.4.2-3 libcups2
avahi 0.8-10 libavahi-client3 libavahi-common3 libavahi-common-data
wget 1.21.3-1
nano 7.2-1";

pub(super) const YOCTO_SCARTHGAP: &str = "base-files 3.0.14
busybox 1.36.1
glibc 2.39+git0
openssl 3.2.3
openssh 9.6p1
systemd 255.4
util-linux 2.39.3
zlib 1.3.1
curl 8.7.1
libpam 1.5.3
shadow 4.14.2
dbus 1.14.10
e2fsprogs 1.47.0
kmod 31
libxcrypt 4.4.36
ncurses 6.4
readline 8.2
sqlite3 3.45.1
expat 2.6.2
libxml2 2.12.5
xz 5.4.6
zstd 1.5.5
libgcrypt 1.10.3
gnutls 3.8.4
nettle 3.9.1
gmp 6.3.0
libffi 3.4.6
libcap 2.69
attr 2.5.2
acl 2.3.2
iproute2 6.7.0
nftables 1.0.9
libnftnl 1.2.6
libmnl 1.0.5
mosquitto 2.0.18
chrony 4.5
rauc 1.11.3
u-boot 2024.01
linux-yocto 6.6.23+git0
tzdata 2024a
ca-certificates 20240203
iptables 1.8.10
procps 4.0.4
coreutils 9.4
bash 5.2.21
sudo 1.9.15p5
libseccomp 2.5.5
json-c 0.17";

pub(super) const YOCTO_KIRKSTONE: &str = "base-files 3.0.14
busybox 1.35.0
glibc 2.35+git0
openssl 3.0.13
openssh 8.9p1
systemd 250.14
util-linux 2.37.4
zlib 1.2.11
curl 7.82.0
libpam 1.5.2
shadow 4.11.1
dbus 1.14.8
e2fsprogs 1.46.5
kmod 29
libxcrypt 4.4.33
ncurses 6.3+20220423
readline 8.1.2
sqlite3 3.38.5
expat 2.5.0
libxml2 2.9.14
xz 5.2.6
zstd 1.5.2
libgcrypt 1.9.4
gnutls 3.7.4
nettle 3.7.3
gmp 6.2.1
libffi 3.4.2
libcap 2.66
iproute2 5.17.0
iptables 1.8.7
mosquitto 2.0.14
chrony 4.2
swupdate 2021.11
u-boot 2022.01
linux-yocto 5.15.150+git0
tzdata 2024a
ca-certificates 20211016
procps 3.3.17
coreutils 9.0
bash 5.1.16";

pub(super) const OPENWRT: &str = "base-files 1563-r23809
busybox 1.36.1-1
dropbear 2022.82-6
dnsmasq 2.90-2
firewall4 2023-09-01-598d9fbb-1
fstools 2023-02-28-bfe882d5-1
kernel 5.15.150-1-4fc1eb0d9d0eeeda0f4a1d42f0e8ed55
libc 1.2.4-4
libgcc1 12.3.0-4
libopenssl3 3.0.13-1
libustream-mbedtls20201210 2023-02-25-498f6e26-1
libmbedtls12 2.28.7-2
logd 2022-08-13-4c7b720b-2
mtd 26
netifd 2024-01-04-c18cc79d-2
nftables-json 1.0.8-1
odhcp6c 2023-05-12-bcd28363-20
odhcpd-ipv6only 2023-10-24-d8118f6e-1
opkg 2022-02-24-d038e5b6-2
ppp 2.4.9.git-2021-01-04-4
procd 2023-06-25-2db83655-2
ubus 2023-06-05-f787c97b-1
uci 2023-08-10-5781664d-1
uclient-fetch 2023-04-13-007d9454-1
urandom-seed 3
mosquitto-ssl 2.0.18-1
collectd 5.12.0-47
uhttpd 2023-06-25-34a8a74d-1";

pub(super) const ALPINE_319: &str =
    "alpine-baselayout 3.4.3-r2 alpine-baselayout alpine-baselayout-data
alpine-keys 2.4-r1
apk-tools 2.14.0-r5 apk-tools
busybox 1.36.1-r15 busybox busybox-binsh ssl_client
ca-certificates 20230506-r0 ca-certificates-bundle
musl 1.2.4_git20230717-r4 musl musl-utils
openssl 3.1.4-r5 libcrypto3 libssl3
openssh 9.6_p1-r0 openssh-server openssh-client-default openssh-keygen openssh-server-common
zlib 1.3.1-r0
scanelf 1.3.7-r2
libc-utils 0.7.2-r5
curl 8.5.0-r0 curl libcurl
nghttp2 1.58.0-r0 nghttp2-libs
brotli 1.1.0-r1 brotli-libs
c-ares 1.24.0-r1
mosquitto 2.0.18-r0 mosquitto mosquitto-libs
chrony 4.5-r0
tzdata 2024a-r0
libcap 2.69-r1 libcap2
linux-pam 1.5.3-r7
shadow 4.14.2-r0 shadow
sqlite 3.44.2-r0 sqlite-libs
expat 2.6.2-r0
ncurses 6.4_p20231125-r0 ncurses-libs ncurses-terminfo-base
readline 8.2.1-r2
iproute2 6.6.0-r0 iproute2-minimal
nftables 1.0.9-r0
libnftnl 1.2.6-r0
libmnl 1.0.5-r2
python3 3.11.8-r0 python3
libffi 3.4.4-r3
xz 5.4.5-r0 xz-libs
zstd 1.5.5-r8 zstd-libs
gdbm 1.23-r1
libbz2 1.0.8-r6
pcre2 10.42-r2";

pub(super) const ALPINE_320: &str =
    "alpine-baselayout 3.6.5-r0 alpine-baselayout alpine-baselayout-data
alpine-keys 2.4-r1
apk-tools 2.14.4-r0 apk-tools
busybox 1.36.1-r29 busybox busybox-binsh ssl_client
ca-certificates 20240226-r0 ca-certificates-bundle
musl 1.2.5-r0 musl musl-utils
openssl 3.3.1-r3 libcrypto3 libssl3
openssh 9.7_p1-r4 openssh-server openssh-client-default openssh-keygen openssh-server-common
zlib 1.3.1-r1
scanelf 1.3.7-r2
curl 8.9.0-r0 curl libcurl
nghttp2 1.62.1-r0 nghttp2-libs
c-ares 1.28.1-r0
chrony 4.5-r0
tzdata 2024a-r1
libcap 2.70-r0 libcap2
shadow 4.15.1-r0 shadow
sqlite 3.45.3-r1 sqlite-libs
expat 2.6.2-r0
ncurses 6.4_p20240420-r0 ncurses-libs ncurses-terminfo-base
iproute2 6.9.0-r0 iproute2-minimal
nftables 1.0.9-r2
python3 3.12.3-r1 python3
containerd 1.7.17-r0
runc 1.1.12-r4
docker 26.1.3-r1 docker-engine docker-cli
xz 5.6.1-r3 xz-libs
zstd 1.5.6-r0 zstd-libs";

pub(super) const BUILDROOT: &str = "busybox 1.36.1
dropbear 2022.83
openssl 3.0.13
musl 1.2.4
lighttpd 1.4.73";

/// Site names, largest first.
pub(super) const SITES: &[&str] = &[
    "hamburg-line3",
    "lyon-water-pumping",
    "rotterdam-terminal-b",
    "munich-paint-shop",
    "turin-press-hall",
    "gdansk-shipyard-cranes",
    "bilbao-substation-7",
    "linz-rolling-mill",
    "ghent-brewery-packaging",
    "porto-wastewater",
    "brno-assembly-2",
    "malmo-district-heating",
    "lille-logistics-hub",
    "zaragoza-solar-park",
    "cologne-chem-unit4",
    "antwerp-tank-farm",
    "krakow-bottling",
    "graz-foundry",
    "nantes-wind-o-and-m",
    "aarhus-harbour-cranes",
    "bremen-line1",
    "valencia-irrigation",
    "dresden-fab-utilities",
    "tampere-pulp-mill",
    "leipzig-rail-depot",
    "seville-desalination",
    "bergen-fish-processing",
    "ostrava-coke-plant",
    "verona-cold-store",
    "lodz-textile",
    "basel-pharma-b12",
    "utrecht-water-tower",
    "kosice-steel-hot-strip",
    "cork-dairy",
    "tallinn-port-gates",
    "riga-grid-north",
    "vilnius-bakery",
    "ljubljana-hydro",
    "split-marina-power",
    "innsbruck-cable-car",
];
