-- The lecturer's decks (slides/*.qmd; slides/_metadata.yml applies this filter to them): every
-- deck loads decks.js, which keeps the keyboard moving between slides after an explorer's
-- control was used. Quarto copies the script into site_libs/, so the decks stay offline.
function Meta(meta)
  quarto.doc.add_html_dependency({
    name = "dlf-decks",
    version = "1",
    scripts = { { path = "decks.js", afterBody = true } },
  })
  return meta
end
