"""The style sheet of the HTML comparison report: readable on a phone, printable, no script."""

from metrotwin.viz.colors import IMPROVE_COLOUR, WORSEN_COLOUR

CSS = """
:root{--ok:%s;--bad:%s;--ink:#1d2327;--mute:#5f6b73;--line:#dde3e8;--bg:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:var(--ink);background:#fff}
main{max-width:1180px;margin:0 auto;padding:12px 16px 48px}
h1{font-size:1.6rem;margin:.4em 0 .2em}h2{font-size:1.3rem;margin:1.8em 0 .4em;
border-bottom:2px solid var(--line);padding-bottom:.2em}h3{font-size:1.05rem;margin:1.2em 0 .3em}
p{margin:.4em 0}.mute{color:var(--mute)}.tech{word-break:break-all}.small{font-size:.88rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:10px;padding:12px 14px;background:var(--bg)}
.card h3{margin-top:0}.card ul{margin:.3em 0;padding-left:1.2em}
.tbl{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.5em 0 1em}
table{border-collapse:collapse;min-width:100%%;font-size:.92rem}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:right;vertical-align:top}
th{background:var(--bg);font-weight:600;position:sticky;top:0}
td:first-child,th:first-child{text-align:left;position:sticky;left:0;background:#fff;
min-width:11em;max-width:22em}
th:first-child{background:var(--bg)}
td .d{display:block;font-size:.82rem;color:var(--mute)}
.better{color:var(--ok);font-weight:600}.worse{color:var(--bad);font-weight:600}
.same{color:var(--mute)}.changed{color:var(--ink)}td .d span{white-space:nowrap}
.why{border-left:3px solid var(--line);padding-left:8px;margin:.4em 0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:6px;background:#fff}
figure img{width:100%%;height:auto;display:block}
figcaption{font-size:.85rem;color:var(--mute);padding:4px 2px 0}
.key{display:inline-block;padding:1px 6px;border-radius:4px;color:#fff;font-size:.85rem}
code{background:var(--bg);padding:1px 4px;border-radius:4px;font-size:.88em;word-break:break-all}
nav a{margin-right:.8em;white-space:nowrap}
details{margin:.3em 0 1em}summary{cursor:pointer;color:var(--mute)}
@media (max-width:600px){body{font-size:15px}main{padding:8px 10px 32px}
td:first-child,th:first-child{min-width:8.5em;max-width:11em}.tech{display:none}
h1{font-size:1.3rem}th,td{padding:5px 6px}table{font-size:.85rem}}
@media print{figure,tr,.card{break-inside:avoid}th,td:first-child{position:static}}
""" % (IMPROVE_COLOUR, WORSEN_COLOUR)
