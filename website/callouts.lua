-- Callouts are written as `<div class="callout-note alert alert-info">` so that JupyterLab,
-- which styles Bootstrap's alert classes, shows them as a coloured box. Quarto makes the
-- callout; the alert classes are dropped here so that Bootstrap does not style it twice.
function Div(div)
  local is_callout = false
  for _, class in ipairs(div.classes) do
    if class:match("^callout%-") then
      is_callout = true
    end
  end
  if is_callout then
    div.classes = div.classes:filter(function(class)
      return class ~= "alert" and not class:match("^alert%-")
    end)
    return div
  end
end
