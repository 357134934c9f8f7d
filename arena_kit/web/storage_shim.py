"""In-memory web storage for pages in an opaque origin (a sandboxed iframe).

There, ``localStorage`` and ``sessionStorage`` throw; pages and apps that keep a high score or
a setting would break. Both the pages arena-kit builds (:data:`arena_kit.web.build.PRELUDE`)
and the apps its Jupyter extension relays (:data:`arena_kit.web.jupyter_app_proxy.SHIM`) put
this JavaScript first. It has no imports: the Jupyter server loads it cheaply.
"""

MEMORY_STORAGE_JS = """\
  function memory() {
    var data = {};
    return {getItem: function (k) { return k in data ? data[k] : null; },
            setItem: function (k, v) { data[k] = String(v); },
            removeItem: function (k) { delete data[k]; },
            clear: function () { data = {}; }, key: function (i) { return Object.keys(data)[i]; },
            get length() { return Object.keys(data).length; }};
  }
  ["localStorage", "sessionStorage"].forEach(function (name) {
    try { window[name].getItem("x"); }
    catch (e) { Object.defineProperty(window, name, {value: memory(), configurable: true}); }
  });
"""
"""JavaScript statements (for inside a function): in-memory stand-ins where storage throws."""
