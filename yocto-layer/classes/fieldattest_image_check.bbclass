# fieldattest_image_check.bbclass: runs fieldattest's IEC 62443-4-2 rules on
# the image's rootfs right after it is created, with the native scanner built
# from the same recipe as the agent. One scan writes the JSON report, the
# SBOM (CycloneDX 1.6, SPDX 2.3 JSON, SPDX 3.0.1 JSON-LD: the native build has
# the spdx feature) and a text summary next to the image, and fails the build when a
# finding reaches FIELDATTEST_FAIL_ON — unless an accept file documents a
# compensating countermeasure for it (IEC 62443-4-2 CCSC 2).
#
# Use in an image recipe (or IMAGE_CLASSES in local.conf):
#   inherit fieldattest_image_check
#   FIELDATTEST_FAIL_ON = "high"                 # critical|high|medium|low|info|none
#   FIELDATTEST_ACCEPT = "${THISDIR}/files/fieldattest-accept.toml"
#   FIELDATTEST_SL = "2"                          # target security level 1..4
#
# With INHERIT += "fieldattest_cve_record" (every recipe's CVE_PRODUCT, PV and
# CVE_STATUS recorded), the check first writes the records of the recipes the
# image installs into /usr/share/fieldattest/cve-record.jsonl: the agent reads
# and attests it, and this scan's SBOM carries its CPEs and VEX statements.

FIELDATTEST_FAIL_ON ??= "high"
FIELDATTEST_ACCEPT ??= ""
FIELDATTEST_SL ??= "2"
FIELDATTEST_REPORT_DIR ??= "${IMGDEPLOYDIR}"
FIELDATTEST_REPORT_NAME ??= "${IMAGE_NAME}.fieldattest"
# No links when IMAGE_LINK_NAME is empty (as write_image_manifest and
# create_symlinks decide): never a hidden ".fieldattest.json".
FIELDATTEST_REPORT_LINK ??= "${@'${IMAGE_LINK_NAME}.fieldattest' if d.getVar('IMAGE_LINK_NAME') else ''}"
# Where fieldattest_cve_record.bbclass writes its records (same default), the
# package architectures of this image (searched in order, the last found wins),
# and the room a record line leaves for its package list.
FIELDATTEST_CVE_RECORD_DIR ??= "${TMPDIR}/fieldattest-cve-record"
FIELDATTEST_CVE_RECORD_ARCHS ??= "${ALL_MULTILIB_PACKAGE_ARCHS}"
FIELDATTEST_CVE_RECORD_PACKAGES_ROOM ??= "16384"

# The kernel's build configuration, installed as
# /usr/share/fieldattest/kernel.config: the agent attests its digest, and the
# collector, given the same file (`vulndb import`) and the kernel tree's
# Kbuild map (`vulndb kbuild`), says which kernel CVEs concern code that is
# not built. Empty: none recorded.
FIELDATTEST_KERNEL_CONFIG ??= "${STAGING_KERNEL_BUILDDIR}/.config"

do_rootfs[depends] += "fieldattest-native:do_populate_sysroot"
do_rootfs[depends] += "${@'virtual/kernel:do_shared_workdir' if d.getVar('FIELDATTEST_KERNEL_CONFIG') else ''}"
do_rootfs[vardeps] += "FIELDATTEST_FAIL_ON FIELDATTEST_ACCEPT FIELDATTEST_SL"
do_rootfs[file-checksums] += "${@'%s:True' % d.getVar('FIELDATTEST_ACCEPT') if d.getVar('FIELDATTEST_ACCEPT') else ''}"

# After every ROOTFS_POSTPROCESS_COMMAND (empty-password removal, users,
# systemd targets, and the tidy_shadowutils_files / rootfs_reproducible that
# walnascar and later move behind appended entries) and the read-only-rootfs
# package removal; before do_rootfs deletes the package database of images
# without package-management (meta/lib/oe/rootfs.py _uninstall_unneeded):
# the check sees the rootfs the image is made of, with its database.
ROOTFS_POSTUNINSTALL_COMMAND:append = " fieldattest_image_check"

# The image's CVE record, /usr/share/fieldattest/cve-record.jsonl: one line per
# recipe of an installed package (opkg, dpkg or rpm database of the rootfs;
# package to recipe from pkgdata's runtime-reverse, as OE-core's vex class
# does), its installed packages filled into the record's "packages", sorted
# by recipe. Nothing is written when no recipe was recorded.
fieldattest_cve_record () {
    root="${IMAGE_ROOTFS}"
    records="${FIELDATTEST_CVE_RECORD_DIR}"
    archs="${FIELDATTEST_CVE_RECORD_ARCHS}"
    room="${FIELDATTEST_CVE_RECORD_PACKAGES_ROOM}"
    reverse="${PKGDATA_DIR}/runtime-reverse"
    dest="$root/usr/share/fieldattest/cve-record.jsonl"
    rm -f "$dest"
    if [ ! -d "$records" ]; then
        bbnote "fieldattest: no CVE record in the image (INHERIT += \"fieldattest_cve_record\" records the recipes' CVE_PRODUCT and CVE_STATUS)"
        return 0
    fi
    work="${WORKDIR}/fieldattest-cve-record"
    rm -rf "$work"
    mkdir -p "$work"
    : >"$work/installed"
    # opkg and dpkg: the packages whose status ends in "installed".
    for status in "$root${localstatedir}/lib/opkg/status" "$root/usr/lib/opkg/status" "$root${localstatedir}/lib/dpkg/status"; do
        [ -f "$status" ] || continue
        awk 'BEGIN { RS = ""; FS = "\n" }
            { p = ""; s = ""
              for (i = 1; i <= NF; i++) {
                  if ($i ~ /^Package:/) { p = $i; sub(/^Package:[ \t]*/, "", p); sub(/[ \t]+$/, "", p) }
                  else if ($i ~ /^Status:/) s = $i
              }
              if (p != "" && s ~ /[ \t]installed[ \t]*$/) print p }' "$status" >>"$work/installed"
    done
    if [ -d "$root${localstatedir}/lib/rpm" ]; then
        if command -v rpm >/dev/null 2>&1; then
            rpm --root "$root" --dbpath "${localstatedir}/lib/rpm" -qa --qf '%{NAME}\n' >>"$work/installed" 2>"$work/rpm.log" ||
                bbwarn "fieldattest: rpm could not list the packages of $root: $(cat "$work/rpm.log")"
        else
            bbwarn "fieldattest: no rpm on PATH to list the packages of $root; their CVE record is missing"
        fi
    fi
    # Installed package -> recipe, then the recipe's record in the last of
    # this image's package architectures that has one.
    LC_ALL=C sort -u "$work/installed" | while read -r pkg; do
        case "$pkg" in "" | .* | *[!A-Za-z0-9.+_-]*) continue ;; esac
        [ -f "$reverse/$pkg" ] || continue
        pn=$(sed -n 's/^PN: *//p' "$reverse/$pkg" | head -n 1)
        case "$pn" in "" | .* | *[!A-Za-z0-9.+_-]*) continue ;; esac
        found=""
        for arch in $archs; do
            [ -f "$records/$arch/$pn.json" ] && found="$records/$arch/$pn.json"
        done
        if [ -n "$found" ]; then
            printf '%s\t%s\t%s\n' "$pn" "$pkg" "$found"
        else
            echo "$pn" >>"$work/unrecorded"
        fi
    done >"$work/owned"
    # One line per recipe: its record with "packages" filled in (at most
    # $room bytes of names; the rest reported).
    LC_ALL=C sort -t "$(printf '\t')" -k1,1 -k2,2 "$work/owned" | awk -F '\t' -v room="$room" -v cut="$work/cut" '
        # (braces balance on each line, a closing one written \175: the
        # layer linter would take it for the end of the shell function)
        BEGIN { tail = "\"packages\":[]\175" } # a record line ends with an empty package list
        function flush(line, n) { if (pn != "" && (getline line < file) > 0) { n = length(line) - length(tail); if (n >= 0 && substr(line, n + 1) == tail) print substr(line, 1, n) "\"packages\":[" list "]\175" }; if (pn != "") close(file) } # the record of recipe pn with its packages
        $1 != pn { flush(); pn = $1; file = $3; list = "" } # a new recipe
        NF >= 3 { item = "\"" $2 "\""; if (length(list) + length(item) + 1 <= room + 0) list = list (list == "" ? "" : ",") item; else print pn " " $2 >> cut } # its packages
        END { flush() } # the last recipe
        ' | LC_ALL=C sort >"$work/record"
    if [ -s "$work/cut" ]; then
        bbwarn "fieldattest: package lists cut to FIELDATTEST_CVE_RECORD_PACKAGES_ROOM ($room bytes) in the CVE record: $(cut -d ' ' -f 1 "$work/cut" | sort -u | tr '\n' ' ')"
    fi
    if [ -s "$work/unrecorded" ]; then
        bbnote "fieldattest: recipes without a CVE record (built before fieldattest_cve_record was inherited?): $(sort -u "$work/unrecorded" | tr '\n' ' ')"
    fi
    if [ -s "$work/record" ]; then
        mkdir -p "$root/usr/share/fieldattest"
        install -m 0644 "$work/record" "$dest"
        bbnote "fieldattest: CVE record of $(wc -l <"$dest") recipes in $dest"
    fi
}

# The kernel configuration record (FIELDATTEST_KERNEL_CONFIG), replaced at
# each run; a configured file that does not exist is a warning.
fieldattest_kernel_config () {
    src="${FIELDATTEST_KERNEL_CONFIG}"
    dest="${IMAGE_ROOTFS}/usr/share/fieldattest/kernel.config"
    rm -f "$dest"
    [ -n "$src" ] || return 0
    if [ ! -s "$src" ]; then
        bbwarn "fieldattest: no kernel configuration at $src: the kernel's CVEs cannot be checked against it"
        return 0
    fi
    mkdir -p "${IMAGE_ROOTFS}/usr/share/fieldattest"
    install -m 0644 "$src" "$dest"
    bbnote "fieldattest: kernel configuration recorded in $dest (import the same file into the collector: vulndb import)"
}

fieldattest_image_check () {
    # The records first: the scan reads them (report, SBOM).
    fieldattest_cve_record
    fieldattest_kernel_config
    root="${IMAGE_ROOTFS}"
    out="${FIELDATTEST_REPORT_DIR}"
    name="${FIELDATTEST_REPORT_NAME}"
    link="${FIELDATTEST_REPORT_LINK}"
    fail_on="${FIELDATTEST_FAIL_ON}"
    accept="${FIELDATTEST_ACCEPT}"
    case "$fail_on" in
    critical) levels="CRITICAL" ;;
    high) levels="CRITICAL|HIGH" ;;
    medium) levels="CRITICAL|HIGH|MEDIUM" ;;
    low) levels="CRITICAL|HIGH|MEDIUM|LOW" ;;
    info) levels="CRITICAL|HIGH|MEDIUM|LOW|INFO" ;;
    none | "") levels="" ;;
    *) bbfatal "fieldattest: FIELDATTEST_FAIL_ON = $fail_on (critical, high, medium, low, info, none)" ;;
    esac
    mkdir -p "$out"
    set -- --root "$root" --sl "${FIELDATTEST_SL}"
    if [ -n "$accept" ]; then
        [ -f "$accept" ] || bbfatal "fieldattest: FIELDATTEST_ACCEPT file $accept does not exist"
        set -- "$@" --accept "$accept"
    fi
    if [ -n "$levels" ]; then
        set -- "$@" --fail-on "$fail_on"
    fi
    # One scan, three renderings of it: the JSON report and the SBOM that are
    # archived are the very scan whose text summary passes or fails the build.
    rc=0
    NO_COLOR=1 fieldattest scan "$@" --write json="$out/$name.json" \
        --write cyclonedx="$out/$name.cdx.json" --write spdx-json="$out/$name.spdx.json" \
        --write spdx3="$out/$name.spdx3.json" --format text --output "$out/$name.txt" \
        2>"$out/$name.log" || rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
        bbfatal "fieldattest: the scan of $root failed (exit $rc): $(cat "$out/$name.log")"
    fi
    if [ -n "$link" ] && [ "$link" != "$name" ]; then
        for ext in json cdx.json spdx.json spdx3.json txt log; do
            if [ -e "$out/$name.$ext" ]; then
                ln -sfn "$name.$ext" "$out/$link.$ext"
            fi
        done
    fi
    if [ -z "$levels" ]; then
        bbnote "fieldattest: report in $out/$name.json (FIELDATTEST_FAIL_ON = none)"
    elif [ $rc -eq 0 ]; then
        bbnote "fieldattest: no finding at or above $fail_on; report in $out/$name.json"
    else
        found=$(grep -E "^ +($levels) " "$out/$name.txt" | grep -v -F "[accepted]" | sed -e 's/^ *//')
        bbfatal "fieldattest: the image has findings at or above '$fail_on':
$found
Report: $out/$name.json (SBOM: $out/$name.cdx.json). Fix the image, or document a
compensating countermeasure in an accept file (FIELDATTEST_ACCEPT)."
    fi
}
