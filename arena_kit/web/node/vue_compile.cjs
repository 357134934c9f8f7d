// Compiles App.vue (a Vue 3 single-file component) into App.js (or App.ts) and App.css in the
// current directory, with the locally installed @vue/compiler-sfc. Runs inside the sandbox.
// Errors go to stderr with the compiler's own message, and the exit status is 1.
"use strict";
const fs = require("fs");
const sfc = require("/opt/web/node_modules/@vue/compiler-sfc");

function fail(errors) {
  for (const e of errors) {
    const where = e.loc ? ` (line ${e.loc.start.line}, column ${e.loc.start.column})` : "";
    process.stderr.write(`App.vue: ${e.message || e}${where}\n`);
  }
  process.exit(1);
}

const filename = "App.vue";
const source = fs.readFileSync(filename, "utf8");
const { descriptor, errors } = sfc.parse(source, { filename });
if (errors.length) fail(errors);
if (!descriptor.template && !descriptor.script && !descriptor.scriptSetup) {
  fail([{ message: "no <template> or <script> block: not a single-file component" }]);
}
const scopeId = "data-v-arena";
const scoped = descriptor.styles.some((s) => s.scoped);
const lang = (descriptor.scriptSetup || descriptor.script || {}).lang || "js";
let code = "";
try {
  if (descriptor.scriptSetup) {
    const script = sfc.compileScript(descriptor, {
      id: scopeId,
      inlineTemplate: true,
      templateOptions: { compilerOptions: { scopeId: scoped ? scopeId : undefined } },
    });
    code = sfc.rewriteDefault(script.content, "__sfc__", lang === "ts" ? ["typescript"] : []);
  } else {
    if (descriptor.script) {
      const script = sfc.compileScript(descriptor, { id: scopeId });
      code = sfc.rewriteDefault(script.content, "__sfc__", lang === "ts" ? ["typescript"] : []);
    } else {
      code = "const __sfc__ = {};";
    }
    if (descriptor.template) {
      const template = sfc.compileTemplate({
        source: descriptor.template.content,
        filename,
        id: scopeId,
        scoped,
        compilerOptions: { scopeId: scoped ? scopeId : undefined },
      });
      if (template.errors.length) fail(template.errors);
      code += "\n" + template.code.replace(/\nexport function render/, "\nfunction render");
      code += "\n__sfc__.render = render;";
    }
  }
} catch (error) {
  fail([error]);
}
if (scoped) code += `\n__sfc__.__scopeId = ${JSON.stringify(scopeId)};`;
code += "\nexport default __sfc__;\n";
let css = "";
for (const style of descriptor.styles) {
  const out = sfc.compileStyle({ source: style.content, filename, id: scopeId, scoped: style.scoped });
  if (out.errors.length) fail(out.errors);
  css += out.code + "\n";
}
fs.writeFileSync(lang === "ts" ? "App.ts" : "App.js", code);
fs.writeFileSync("App.css", css);
