-- Under the title of every notebook page: a link to download that notebook and one to the
-- README's section on running the course in JupyterLab. The notebooks are copied into the
-- site as resources (_quarto.yml), so both links work offline.
function Pandoc(doc)
  local input = quarto.doc.input_file
  if not input:match("%.ipynb$") then
    return doc
  end
  local name = pandoc.path.filename(input)
  local relative = pandoc.path.make_relative(pandoc.path.directory(input), quarto.project.directory)
  local up = relative == "." and "" or string.rep("../", #pandoc.path.split(relative))
  local links = pandoc.Div({
    pandoc.Para({
      -- data-noresolveinput: Quarto would otherwise point a link to a notebook at its rendered page
      pandoc.Link("Download this notebook", name, "", { download = name, ["data-noresolveinput"] = "1" }),
      pandoc.Str(" (" .. name .. ") and run it in JupyterLab as the "),
      pandoc.Link("README", up .. "README.md#open-the-course-in-jupyterlab"),
      pandoc.Str(" explains."),
    }),
  }, { class = "dlf-onward" })
  table.insert(doc.blocks, 1, links)
  return doc
end
