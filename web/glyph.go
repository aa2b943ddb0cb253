package web

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"regexp"
	"strings"
)

// Glyph SVGs come from the corpus folder: author data, but still inserted into every
// reader page, so they are rebuilt from an allowlist instead of being copied. Only shapes
// survive (g, line, rect, circle, ellipse, path, polyline, polygon) with geometry and stroke
// attributes whose values are plain numbers and words; every colour becomes currentColor
// (so the glyph takes its character's colour) except white fills, which become none (the
// corpus glyphs are black lines on a white square).

var (
	glyphElems = map[string]bool{"g": true, "line": true, "rect": true, "circle": true, "ellipse": true, "path": true, "polyline": true, "polygon": true}
	glyphAttrs = map[string]bool{
		"x": true, "y": true, "x1": true, "y1": true, "x2": true, "y2": true, "width": true, "height": true,
		"cx": true, "cy": true, "r": true, "rx": true, "ry": true, "d": true, "points": true, "transform": true,
		"stroke-width": true, "stroke-linecap": true, "stroke-linejoin": true, "fill": true, "stroke": true,
		"opacity": true, "fill-rule": true, "stroke-opacity": true, "fill-opacity": true,
	}
	glyphValue   = regexp.MustCompile(`^[-0-9a-zA-Z.,()#%\s]*$`)
	glyphViewBox = regexp.MustCompile(`^\s*-?[0-9.]+([\s,]+-?[0-9.]+){3}\s*$`)
	// MaxGlyphBytes caps a glyph file.
	maxGlyphBytes = 64 << 10
)

// SanitizeGlyph rebuilds an SVG glyph from its allowed shapes. It returns the viewBox and
// the inner markup for an SVG <symbol>.
func SanitizeGlyph(svg []byte) (viewBox, body string, err error) {
	if len(svg) > maxGlyphBytes {
		return "", "", fmt.Errorf("glyph: %d bytes, at most %d", len(svg), maxGlyphBytes)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	dec.Strict = true
	var out strings.Builder
	depth, skip := 0, 0 // depth inside the root svg; skip>0 while inside a dropped element
	rootSeen := false
	shapes := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", "", fmt.Errorf("glyph: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(t.Name.Local)
			if !rootSeen {
				if name != "svg" {
					return "", "", fmt.Errorf("glyph: root element is <%s>, want <svg>", name)
				}
				rootSeen = true
				viewBox = "0 0 1000 1000"
				var w, h string
				for _, a := range t.Attr {
					switch strings.ToLower(a.Name.Local) {
					case "viewbox":
						if glyphViewBox.MatchString(a.Value) {
							viewBox = strings.TrimSpace(a.Value)
						}
					case "width":
						w = a.Value
					case "height":
						h = a.Value
					}
				}
				if viewBox == "0 0 1000 1000" && w != "" && h != "" && glyphViewBox.MatchString("0 0 "+w+" "+h) {
					viewBox = "0 0 " + w + " " + h
				}
				continue
			}
			depth++
			if skip > 0 || !glyphElems[name] || t.Name.Space != "" && t.Name.Space != "http://www.w3.org/2000/svg" {
				skip++
				continue
			}
			out.WriteString("<" + name)
			for _, a := range t.Attr {
				an := strings.ToLower(a.Name.Local)
				if a.Name.Space != "" || !glyphAttrs[an] || !safeGlyphValue(a.Value) {
					continue
				}
				v := a.Value
				switch an {
				case "fill":
					v = glyphFill(v)
				case "stroke":
					if strings.TrimSpace(strings.ToLower(v)) != "none" {
						v = "currentColor"
					}
				}
				out.WriteString(" " + an + `="` + html.EscapeString(v) + `"`)
			}
			if name != "g" {
				shapes++
			}
			out.WriteString(">")
		case xml.EndElement:
			if depth == 0 {
				continue // the root's end
			}
			depth--
			if skip > 0 {
				skip--
				continue
			}
			out.WriteString("</" + strings.ToLower(t.Name.Local) + ">")
		}
	}
	if !rootSeen {
		return "", "", errors.New("glyph: no <svg> element")
	}
	if shapes == 0 {
		return "", "", errors.New("glyph: no shapes left after sanitizing")
	}
	return viewBox, out.String(), nil
}

func safeGlyphValue(v string) bool {
	if len(v) > 4096 || !glyphValue.MatchString(v) {
		return false
	}
	l := strings.ToLower(v)
	return !strings.Contains(l, "url") && !strings.Contains(l, "script") && !strings.Contains(l, "expression")
}

func glyphFill(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "none", "#fff", "#ffffff", "white", "transparent":
		return "none"
	}
	return "currentColor"
}
