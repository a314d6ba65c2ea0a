# Packaging, included by the Makefile: install-data (config, hooks tree, unit,
# man pages), `make deb` and `make rpm`. Packages go to packaging/out/.
# The version comes from VERSION alone: debian/changelog is generated from it
# and the spec gets it with --define.

CONFDIR		:= $(SYSCONFDIR)/failoverd
HOOK_KINDS	:= promote.d demote.d notify.d fence.d
MAN5		:= man/failoverd.conf.5
MAN8		:= man/failoverd.8 man/failoverctl.8
PKG_OUT		:= packaging/out
PKG_NAME	:= failoverd-$(VERSION)
# Archive the source tree (add -f FILE and "."), without VCS data and build output.
PKG_TAR		:= tar -c --sort=name --owner=0 --group=0 --numeric-owner \
		    --exclude=./.git --exclude=./build --exclude=./$(PKG_OUT) \
		    --exclude=__pycache__ --exclude=.pytest_cache

.PHONY: install-data deb rpm packages test-packages

# Examples and READMEs from etc/hooks are installed as they lie, mode 0644:
# a hook runs only once the operator makes a copy executable. The four hook
# directories exist even when empty. The unit names $(SBINDIR) and $(CONFDIR)
# so that a PREFIX=/usr/local install gets a unit that works.
install-data: etc/failoverd.conf etc/failoverd.service $(MAN5) $(MAN8)
	install -d -m 0755 $(DESTDIR)$(CONFDIR)
	install -m 0644 etc/failoverd.conf $(DESTDIR)$(CONFDIR)/failoverd.conf
	for k in $(HOOK_KINDS); do install -d -m 0755 $(DESTDIR)$(CONFDIR)/hooks/$$k; done
	if [ -d etc/hooks ]; then cd etc/hooks && \
	    find . -type f \( -name 'README*' -o -name '*.example' \) | LC_ALL=C sort | \
	    while read -r f; do install -D -m 0644 "$$f" "$(DESTDIR)$(CONFDIR)/hooks/$$f" || exit 1; done; fi
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/sbin/|$(SBINDIR)/|g' -e 's|/etc/failoverd/|$(CONFDIR)/|g' \
	    etc/failoverd.service > $(DESTDIR)$(UNITDIR)/failoverd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/failoverd.service
	install -d -m 0755 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/

# dpkg-buildpackage runs in a copy of the tree that has packaging/debian as
# debian/, so the repository never gets a debian/ directory.
deb:
	rm -rf $(PKG_OUT)/deb && mkdir -p $(PKG_OUT)/deb/$(PKG_NAME)
	$(PKG_TAR) -f - . | tar -x -C $(PKG_OUT)/deb/$(PKG_NAME) -f -
	cp -R packaging/debian $(PKG_OUT)/deb/$(PKG_NAME)/debian
	packaging/debian-changelog $(VERSION) packaging/debian/control \
	    > $(PKG_OUT)/deb/$(PKG_NAME)/debian/changelog
	cd $(PKG_OUT)/deb/$(PKG_NAME) && dpkg-buildpackage -us -uc -b
	rm -f $(PKG_OUT)/failoverd_*.deb
	mv $(PKG_OUT)/deb/failoverd_$(VERSION)_*.deb $(PKG_OUT)/
	@ls -1 $(PKG_OUT)/failoverd_$(VERSION)_*.deb

# rpmbuild's _topdir is packaging/out/rpm; the source is a tarball of the tree.
# --nodeps: Debian's rpm has no database of the Fedora BuildRequires.
RPM_TOP		:= $(CURDIR)/$(PKG_OUT)/rpm
rpm:
	rm -rf $(RPM_TOP) && mkdir -p $(RPM_TOP)/SOURCES
	$(PKG_TAR) --transform 's,^\.,$(PKG_NAME),' -z -f $(RPM_TOP)/SOURCES/$(PKG_NAME).tar.gz .
	rpmbuild -bb --nodeps --define '_topdir $(RPM_TOP)' \
	    --define 'fod_version $(VERSION)' packaging/rpm/failoverd.spec
	rm -f $(PKG_OUT)/failoverd-*.rpm
	mv $(RPM_TOP)/RPMS/*/failoverd-$(VERSION)-*.rpm $(PKG_OUT)/
	@ls -1 $(PKG_OUT)/failoverd-$(VERSION)-*.rpm

packages: deb rpm

# Builds both packages and installs the .deb into a fresh debootstrap root;
# needs root, the network to the Debian mirror, and a few minutes.
test-packages:
	@scripts/as-root tests/packaging/test_packages.sh
