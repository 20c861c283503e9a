// The self-contained latent browser of `sae inspect --html`: the report is embedded as JSON
// and a small script renders it, so the page works offline from a single file.
#include <algorithm>
#include <numeric>

#include "tessera/interp/sae_inspect.h"

namespace tessera::interp {

namespace {

std::string escape_html(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// JSON inside <script>: "</" would end the element early.
std::string script_safe(std::string json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') {
      out += "<\\/";
      ++i;
    } else {
      out += json[i];
    }
  }
  return out;
}

constexpr const char* kStyle = R"(
body{font-family:system-ui,sans-serif;margin:0;display:flex;height:100vh}
#side{width:260px;border-right:1px solid #ccc;overflow-y:auto;padding:8px}
#main{flex:1;overflow-y:auto;padding:16px}
#side input{width:100%;box-sizing:border-box;margin-bottom:6px}
.item{cursor:pointer;padding:2px 4px;font-family:monospace}
.item:hover,.item.sel{background:#e8eefc}
.ctx{font-family:monospace;white-space:pre-wrap;margin:4px 0;padding:4px;border-bottom:1px solid #eee}
.hit{background:#ffb347;font-weight:bold}
.act{color:#555;display:inline-block;width:80px}
)";

constexpr const char* kScript = R"(
const list=document.getElementById('list'),main=document.getElementById('main'),q=document.getElementById('q');
function esc(s){return s.replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));}
function hist(h,max){const w=400,ht=80,bw=w/h.length,m=Math.max(1,...h);let s=`<svg width="${w}" height="${ht+16}">`;
h.forEach((c,i)=>{const y=ht*c/m;s+=`<rect x="${i*bw}" y="${ht-y}" width="${bw-1}" height="${y}" fill="#4a7bd1"><title>${c}</title></rect>`;});
return s+`<text x="0" y="${ht+13}" font-size="11">0</text><text x="${w-40}" y="${ht+13}" font-size="11">${max.toFixed(3)}</text></svg>`;}
function show(l){const d=DATA.latents.find(x=>x.latent===l);document.querySelectorAll('.item').forEach(e=>e.classList.toggle('sel',+e.dataset.l===l));
if(!d){main.innerHTML=`<h2>latent ${l}</h2><p>not in this page (never fired on the inspected tokens, or beyond the page's cap).</p>`;return;}
let s=`<h2>latent ${d.latent}</h2><p>fired on ${d.fired} of ${DATA.tokens} tokens, max activation ${d.max_activation.toFixed(4)}</p>`;
s+='<h3>activation histogram</h3>'+hist(d.histogram,d.max_activation)+'<h3>top contexts</h3>';
d.examples.forEach(e=>{s+='<div class="ctx"><span class="act">'+e.activation.toFixed(4)+'</span>'+e.tokens.map((t,i)=>i===e.marked?'<span class="hit">'+esc(t)+'</span>':esc(t)).join('')+'</div>';});
main.innerHTML=s;}
function render(){const f=q.value.trim();list.innerHTML='';DATA.latents.filter(d=>f===''||String(d.latent).startsWith(f)).forEach(d=>{
const e=document.createElement('div');e.className='item';e.dataset.l=d.latent;e.textContent=`#${d.latent}  (${d.fired})`;e.onclick=()=>show(d.latent);list.appendChild(e);});}
q.oninput=render;q.onkeydown=e=>{if(e.key==='Enter'&&/^\d+$/.test(q.value.trim()))show(+q.value.trim());};
render();if(DATA.latents.length)show(DATA.latents[0].latent);
)";

}  // namespace

std::string latent_browser_html(const InspectReport& report,
                                const std::function<std::string(int32_t)>& token_text,
                                const std::string& title, int64_t max_latents) {
  std::vector<int64_t> order(report.summaries.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return report.summaries[a].fired > report.summaries[b].fired;
  });
  nlohmann::json latents = nlohmann::json::array();
  int64_t dead = 0;
  for (int64_t l : order) {
    const LatentSummary& s = report.summaries[l];
    if (s.fired == 0) {
      ++dead;
      continue;
    }
    if (static_cast<int64_t>(latents.size()) < max_latents)
      latents.push_back(latent_json(s, token_text));
  }
  const nlohmann::json data = {{"tokens", report.tokens}, {"latents", latents}};
  // Byte-level tokens may split UTF-8 sequences: replace what is not valid rather than fail.
  const std::string json = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" +
                     escape_html(title) + "</title><style>" + kStyle + "</style></head><body>\n";
  html += "<div id=\"side\"><b>" + escape_html(title) + "</b><br><small>" +
          std::to_string(report.tokens) + " tokens, " + std::to_string(report.latents) +
          " latents, " + std::to_string(dead) +
          " never fired</small><input id=\"q\" placeholder=\"latent index\"><div "
          "id=\"list\"></div></div>\n";
  html += "<div id=\"main\"></div>\n<script>const DATA=" + script_safe(json) + ";" + kScript +
          "</script>\n";
  html += "</body></html>\n";
  return html;
}

}  // namespace tessera::interp
