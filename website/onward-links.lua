-- Under the title of every notebook page: a link to download that notebook, one to open it in
-- Colab (only where _quarto.yml names the course's GitHub repository: course-repository, at
-- course-ref; website/hosted_setup.py builds the same address for the notebooks' badges) and one
-- to the README's section on running the course in JupyterLab. The notebooks are copied into the
-- site as resources (_quarto.yml), so the download works offline. The notebook's own Colab badge
-- is dropped from the page: the link above says the same, without an image from another host.
-- A notebook with a lecturer's deck (slides/<notebook's name>.qmd, rendered with the site) gets a
-- link to it: "Slides for this notebook".
local function colab_url(meta, name)
  local repository = meta["course-repository"] and pandoc.utils.stringify(meta["course-repository"]) or ""
  local ref = meta["course-ref"] and pandoc.utils.stringify(meta["course-ref"]) or ""
  local owner, repo = repository:match("^https://github%.com/([%w%.%-_]+)/([%w%.%-_]+)/?$")
  if owner == nil or ref == "" then
    return nil
  end
  repo = repo:gsub("%.git$", "")
  return "https://colab.research.google.com/github/" .. owner .. "/" .. repo .. "/blob/" .. ref .. "/notebooks/" .. name
end

-- The badge paragraph, whatever Quarto made of it by now (a paragraph, or a figure around the image).
local function is_badge(block)
  local badge = false
  block:walk({
    Image = function(image)
      badge = badge or image.src:match("colab%-badge%.svg$") ~= nil
    end,
  })
  return badge and pandoc.utils.stringify(block):gsub("Open In Colab", ""):match("^%s*$") ~= nil
end

-- The deck of a notebook, relative to the project, if there is one.
local function deck_of(name)
  local deck = "slides/" .. pandoc.path.split_extension(name) .. ".qmd"
  local file = io.open(pandoc.path.join({ quarto.project.directory, deck }), "r")
  if file == nil then
    return nil
  end
  file:close()
  return deck
end

function Pandoc(doc)
  local input = quarto.doc.input_file
  if not input:match("%.ipynb$") then
    return doc
  end
  local name = pandoc.path.filename(input)
  local relative = pandoc.path.make_relative(pandoc.path.directory(input), quarto.project.directory)
  local up = relative == "." and "" or string.rep("../", #pandoc.path.split(relative))
  doc.blocks = doc.blocks:filter(function(block)
    return not is_badge(block)
  end)
  local inlines = {
    -- data-noresolveinput: Quarto would otherwise point a link to a notebook at its rendered page
    pandoc.Link("Download this notebook", name, "", { download = name, ["data-noresolveinput"] = "1" }),
    pandoc.Str(" (" .. name .. ") and run it in JupyterLab as the "),
    pandoc.Link("README", up .. "README.md#open-the-course-in-jupyterlab"),
    pandoc.Str(" explains"),
  }
  local colab = colab_url(doc.meta, name)
  if colab then
    table.insert(inlines, pandoc.Str(", or "))
    table.insert(inlines, pandoc.Link("open it in Colab", colab, "", { class = "dlf-colab" }))
    table.insert(inlines, pandoc.Str(" (a hosted kernel, with a free GPU; its first cell installs the course)"))
  end
  table.insert(inlines, pandoc.Str("."))
  local deck = deck_of(name)
  if deck then
    table.insert(inlines, pandoc.Space())
    table.insert(inlines, pandoc.Link("Slides for this notebook", up .. deck, "", { class = "dlf-slides" }))
    table.insert(inlines, pandoc.Str(": the lecturer's deck, with the same figures and explorers."))
  end
  table.insert(doc.blocks, 1, pandoc.Div({ pandoc.Para(inlines) }, { class = "dlf-onward" }))
  return doc
end
